// The panel that shows a new secret once (key creation, rotation, a new OAuth client).
// The secret exists only in this panel's DOM: "Done" removes it, and nothing stores it.

import { copyButton, h, newId } from "../dom.js";

export function awsSnippets(settings, keyId, secret) {
  const endpoint = settings.s3_endpoint;
  const region = settings.region || "us-east-1";
  return [
    {
      title: "boto3 (Python)",
      text: [
        "import boto3",
        "",
        "s3 = boto3.client(",
        '    "s3",',
        `    endpoint_url="${endpoint}",`,
        `    aws_access_key_id="${keyId}",`,
        `    aws_secret_access_key="${secret}",`,
        `    region_name="${region}",`,
        ")",
        'print(s3.list_buckets()["Buckets"])',
      ].join("\n"),
    },
    {
      title: "aws CLI (environment variables)",
      text: [
        `export AWS_ACCESS_KEY_ID=${keyId}`,
        `export AWS_SECRET_ACCESS_KEY=${secret}`,
        `export AWS_DEFAULT_REGION=${region}`,
        `export AWS_ENDPOINT_URL=${endpoint}`,
        "aws s3 ls            # older CLIs: aws --endpoint-url \"$AWS_ENDPOINT_URL\" s3 ls",
      ].join("\n"),
    },
  ];
}

function valueRow(label, value, { secret = false } = {}) {
  const id = newId("secret");
  const input = h("input", { id, type: "text", readonly: true, value, class: "mono", "data-secret": secret ? "true" : null, autocomplete: "off", spellcheck: "false" });
  return h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "copy-row" }, input, copyButton(`Copy ${label.toLowerCase()}`, () => value, input)));
}

export function secretPanel({ title, values, snippets = [], onDone }) {
  const headingId = newId("secret-title");
  const done = h("button", { type: "button", class: "primary" }, "Done: I have stored it");
  const panel = h(
    "section",
    { class: "card secret-panel", role: "region", "aria-labelledby": headingId, tabindex: "-1" },
    h("h2", { id: headingId }, title),
    h("p", { class: "warning" }, "Copy the secret now: it is shown only once and cannot be retrieved later."),
    values.map(([label, value, secret]) => valueRow(label, value, { secret })),
    snippets.map((snippet) => {
      const id = newId("snippet");
      return h(
        "div",
        { class: "snippet" },
        h("h3", { id }, snippet.title),
        h("pre", { "aria-labelledby": id }, h("code", {}, snippet.text)),
        copyButton(`Copy ${snippet.title} snippet`, () => snippet.text),
      );
    }),
    done,
  );
  done.addEventListener("click", () => {
    panel.remove();
    if (onDone) onDone();
  });
  return panel;
}
