// Access keys, the seed's flow: create (name, scopes, bucket limits, expiry) and see the
// secret once with a copy button and SDK snippets; list with last use; revoke; rotate
// with a grace period for the old secret.

import { api, path } from "../api.js";
import { announce, checkboxes, clear, confirmDialog, errorBox, field, formatTime, h, newId, readable, shownName, table } from "../dom.js";
import { pagedList } from "../paging.js";
import { DESCRIPTIONS, mintable } from "../scopes.js";
import { awsSnippets, secretPanel } from "./secret.js";

const GRACE = [
  ["0", "No grace: the old secret stops now"],
  ["3600", "1 hour"],
  ["86400", "1 day"],
  ["604800", "7 days"],
];

function showSecret(ctx, slot, title, key, focusAfter) {
  clear(slot);
  const panel = secretPanel({
    title,
    values: [
      ["Access key ID", key.access_key_id],
      ["Secret", key.secret, true],
    ],
    snippets: awsSnippets(ctx.settings, key.access_key_id, key.secret),
    onDone: () => focusAfter && focusAfter.focus(),
  });
  slot.append(panel);
  panel.focus();
}

function parseBuckets(text) {
  const names = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return names.length ? names : null;
}

function createForm(ctx, status, slot, reload) {
  const name = field("Name", { name: "key-name", required: true, maxlength: 128 }, "What the key is for, e.g. “backup job”.");
  const scopes = checkboxes("Scopes", mintable(ctx.me.scopes), { describe: DESCRIPTIONS });
  const limits = ctx.me.buckets ? ctx.me.buckets.join(", ") : null;
  const buckets = field(
    "Bucket limits (optional)",
    { name: "key-buckets", autocapitalize: "none", spellcheck: "false" },
    limits
      ? `Names or patterns (app-*), separated by spaces or commas. Empty: your own limits (${limits}).`
      : "Names or patterns (app-*), separated by spaces or commas. Empty: every bucket.",
  );
  const expires = field(
    "Expires (optional)",
    { name: "key-expires", type: "datetime-local" },
    ctx.me.kind === "key" && ctx.me.expires_at
      ? `Empty: when your key expires (${formatTime(ctx.me.expires_at)}); a new key cannot outlive it.`
      : "Empty: never.",
  );
  const button = h("button", { type: "submit", class: "primary" }, "Create key");
  const form = h("form", { class: "card", "aria-labelledby": "create-key-title" }, h("h2", { id: "create-key-title" }, "Create an access key"), name.wrap, scopes.wrap, buckets.wrap, expires.wrap, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    const body = { name: name.input.value.trim(), scopes: scopes.selected() };
    const bucketList = parseBuckets(buckets.input.value);
    if (bucketList) body.buckets = bucketList;
    if (expires.input.value) body.expires_at = new Date(expires.input.value).toISOString();
    if (body.scopes.length === 0) {
      status.append(errorBox({ message: "Choose at least one scope." }));
      scopes.wrap.querySelector("input").focus();
      return;
    }
    button.disabled = true;
    try {
      const key = await api("POST", "/v1/access-keys", { json: body });
      form.reset();
      announce(`Key ${key.name} created`);
      showSecret(ctx, slot, `New key “${key.name}”`, key, name.input);
      await reload();
    } catch (error) {
      status.append(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function rotate(ctx, key, status, slot, reload) {
  const selectId = newId("grace");
  const select = h("select", { id: selectId }, GRACE.map(([value, label]) => h("option", { value }, label)));
  const extra = h("div", { class: "field" }, h("label", { for: selectId }, "Keep the old secret working for"), select);
  if (!(await confirmDialog(["Rotate the secret of “", shownName(key.name), "”?"], "Rotate", { danger: false, extra }))) return;
  clear(status);
  try {
    const rotated = await api("POST", path("/v1/access-keys/{id}/rotate", { id: key.id }), { json: { grace_seconds: Number(select.value) } });
    announce(`Key ${key.name} rotated`);
    showSecret(ctx, slot, `New secret for “${key.name}”`, rotated, null);
    await reload();
  } catch (error) {
    status.append(errorBox(error));
  }
}

async function revoke(ctx, key, status, reload) {
  if (!(await confirmDialog(["Revoke “", shownName(key.name), `” (${key.id})? Every client using it is refused at once.`], "Revoke key"))) return;
  clear(status);
  try {
    await api("DELETE", path("/v1/access-keys/{id}", { id: key.id }));
    announce(`Key ${key.name} revoked`);
    await reload();
  } catch (error) {
    status.append(errorBox(error));
  }
}

// Admins read the audit log: who created the key, from where, who used it last.
function historyLink(ctx, key) {
  if (!ctx.can("admin")) return null;
  return h("a", { class: "button-link", href: ctx.link("activity", { target: key.id }), "aria-label": `History of key ${readable(key.name)}` }, "History");
}

function keyActions(ctx, key, status, slot, reload) {
  if (key.root || key.status !== "active") {
    return h("div", { class: "row-actions" }, h("span", { class: "muted" }, key.root ? "set by the environment" : ""), historyLink(ctx, key));
  }
  return h(
    "div",
    { class: "row-actions" },
    h("button", { type: "button", "aria-label": `Rotate key ${readable(key.name)}`, onclick: () => rotate(ctx, key, status, slot, reload) }, "Rotate"),
    h("button", { type: "button", class: "danger", "aria-label": `Revoke key ${readable(key.name)}`, onclick: () => revoke(ctx, key, status, reload) }, "Revoke"),
    historyLink(ctx, key),
  );
}

export function keyRows(ctx, keys, { actions = null } = {}) {
  return keys.map((key) => {
    const row = [
      shownName(key.name),
      h("code", {}, key.id),
      key.scopes.join(" "),
      key.buckets ? key.buckets.join(" ") : "all",
      h("span", { class: `badge ${key.status}` }, key.status),
      formatTime(key.last_used_at),
      key.expires_at ? formatTime(key.expires_at) : "never",
    ];
    if (actions) row.push(actions(key));
    return row;
  });
}

export const KEY_COLUMNS = ["Name", "Key ID", "Scopes", "Buckets", "Status", "Last used", "Expires"];

export async function render(ctx) {
  const status = h("div", { class: "errors" });
  const slot = h("div", { class: "secret-slot" });
  const actions = (key) => keyActions(ctx, key, status, slot, list.reload);
  const list = pagedList({
    url: "/v1/access-keys",
    field: "access_keys",
    more: "Load more keys",
    status,
    empty: "No keys yet.",
    show: (keys) =>
      table("Access keys", [...KEY_COLUMNS, "Actions"], keyRows(ctx, keys, { actions })),
  });
  await list.reload();
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "Access keys"),
    h("p", { class: "lead" }, "An access key is an AWS access key ID and secret for the S3 endpoint; the secret alone also works as a Bearer token for the REST API."),
    slot,
    createForm(ctx, status, slot, list.reload),
    status,
    h("h2", {}, ctx.can("admin") ? "All keys" : "Your keys"),
    list.element,
  );
}
