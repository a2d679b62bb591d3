// Buckets: list (with object counts and sizes) a page at a time (paging.js), create, delete.

import { api, path } from "../api.js";
import { announce, clear, confirmDialog, errorBox, formatBytes, formatTime, h, newId, table } from "../dom.js";
import { pagedList } from "../paging.js";

function createForm(status, reload) {
  const id = newId("bucket");
  const input = h("input", { id, name: "bucket", required: true, minlength: 3, maxlength: 63, pattern: "[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]", autocapitalize: "none", spellcheck: "false", "aria-describedby": `${id}-hint` });
  const name = { input };
  const button = h("button", { type: "submit", class: "primary" }, "Create bucket");
  const form = h(
    "form",
    { class: "card", "aria-label": "Create a bucket" },
    h("label", { for: id, class: "label" }, "New bucket name"),
    h("div", { class: "input-row" }, input, button),
    h("p", { class: "hint", id: `${id}-hint` }, "3–63 characters: lower-case letters, digits, dots and hyphens."),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    button.disabled = true;
    try {
      const created = await api("POST", "/v1/buckets", { json: { name: name.input.value.trim() } });
      announce(`Bucket ${created.name} created`);
      await reload();
      button.disabled = false;
      name.input.value = "";
    } catch (error) {
      status.append(errorBox(error));
      button.disabled = false;
      name.input.focus();
    }
  });
  return form;
}

function actions(ctx, bucket, status, reload) {
  const cells = [];
  if (ctx.can("read:objects")) {
    cells.push(h("a", { href: ctx.link("browse", { bucket: bucket.name }), class: "button-link" }, "Browse"));
  }
  // VERSIONING: the bucket's versioning switch goes here once the API has it
  // (issue 15, "versioning switch once versioning exists"); offer it only with write:buckets.
  if (ctx.can("write:buckets")) {
    cells.push(
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Delete bucket ${bucket.name}`,
          onclick: async () => {
            if (!(await confirmDialog(`Delete the bucket “${bucket.name}”? It must be empty.`, "Delete bucket"))) return;
            clear(status);
            try {
              await api("DELETE", path("/v1/buckets/{name}", { name: bucket.name }));
              announce(`Bucket ${bucket.name} deleted`);
              await reload();
            } catch (error) {
              status.append(errorBox(error));
            }
          },
        },
        "Delete",
      ),
    );
  }
  return h("div", { class: "row-actions" }, cells);
}

function bucketList(ctx, status, query) {
  const list = pagedList({
    url: "/v1/buckets",
    query,
    field: "buckets",
    more: "Load more buckets",
    status,
    empty: "No buckets yet.",
    show: (buckets) =>
      table("Buckets", ["Name", "Objects", "Size", "Created", "Actions"], buckets.map((bucket) => [
        ctx.can("read:objects") ? h("a", { href: ctx.link("browse", { bucket: bucket.name }) }, bucket.name) : bucket.name,
        bucket.object_count === undefined ? "—" : String(bucket.object_count),
        formatBytes(bucket.size_bytes),
        formatTime(bucket.created_at),
        actions(ctx, bucket, status, () => list.reload()),
      ])),
  });
  return list;
}

export async function render(ctx) {
  const status = h("div", { class: "errors" });
  let list = bucketList(ctx, status, { stats: "true" });
  try {
    await list.reload();
  } catch (error) {
    // A backend without statistics (501) still lists its buckets.
    if (error.status !== 501) throw error;
    list = bucketList(ctx, status, {});
    await list.reload();
  }
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "Buckets"),
    ctx.can("write:buckets") ? createForm(status, () => list.reload()) : null,
    status,
    list.element,
  );
}
