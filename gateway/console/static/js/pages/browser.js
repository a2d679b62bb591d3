// One bucket, browsed by prefix ("folders" at "/"), a page at a time: upload with a
// progress bar, download, delete, and a presigned link to copy.

import { api, downloadFile, path, uploadFile, withQuery } from "../api.js";
import { announce, clear, confirmDialog, copyButton, errorBox, formatBytes, formatTime, h, newId, readable, shownName, table } from "../dom.js";
import { signedInWith } from "../session.js";

const PAGE_SIZE = 100;

function objectUrl(bucket, key) {
  return withQuery(path("/v1/buckets/{name}/objects/content", { name: bucket }), { key });
}

function baseName(key, prefix) {
  return key.slice(prefix.length) || key;
}

function breadcrumbs(ctx, bucket, prefix) {
  const parts = prefix.split("/").filter((_, i, all) => i < all.length - 1);
  const crumbs = [h("li", {}, h("a", { href: ctx.link("buckets") }, "Buckets")), h("li", {}, h("a", { href: ctx.link("browse", { bucket }) }, bucket))];
  let acc = "";
  for (const part of parts) {
    acc += `${part}/`;
    crumbs.push(h("li", {}, h("a", { href: ctx.link("browse", { bucket, prefix: acc }) }, part ? shownName(part) : "(empty)")));
  }
  return h("nav", { class: "breadcrumbs", "aria-label": "Location" }, h("ol", {}, crumbs));
}

function uploader(ctx, bucket, prefix, status, onDone) {
  const inputId = newId("upload");
  const input = h("input", { type: "file", id: inputId, multiple: true, class: "file-input" });
  const progressList = h("ul", { class: "uploads", "aria-live": "polite" });
  input.addEventListener("change", async () => {
    const files = [...input.files];
    clear(status);
    let uploaded = 0;
    for (const file of files) {
      const barId = newId("progress");
      const bar = h("progress", { id: barId, max: String(file.size || 1), value: "0" });
      const label = h("label", { for: barId }, `${readable(file.name)} (${formatBytes(file.size)})`);
      const state = h("span", { class: "muted" }, " 0%");
      progressList.append(h("li", {}, label, bar, state));
      try {
        await uploadFile(objectUrl(bucket, prefix + file.name), file, (loaded, total) => {
          bar.max = total || 1;
          bar.value = loaded;
          state.textContent = ` ${total ? Math.round((100 * loaded) / total) : 100}%`;
        });
        state.textContent = " done";
        uploaded += 1;
      } catch (error) {
        state.textContent = " failed";
        status.append(errorBox(error));
      }
    }
    input.value = "";
    if (uploaded) {
      announce(`${uploaded} file${uploaded === 1 ? "" : "s"} uploaded`);
      onDone();
    }
  });
  return h(
    "div",
    { class: "uploader" },
    h("label", { for: inputId, class: "button-like primary" }, "Upload files"),
    input,
    h("span", { class: "hint" }, " to ", shownName(`${bucket}/${prefix}`)),
    progressList,
  );
}

function presignPanel(url, expiresAt) {
  const inputId = newId("link");
  const input = h("input", { id: inputId, type: "text", readonly: true, value: url, class: "mono" });
  return h(
    "div",
    { class: "card presigned", role: "region", "aria-label": "Presigned link" },
    h("label", { for: inputId }, `Presigned link (valid until ${formatTime(expiresAt)})`),
    h("div", { class: "copy-row" }, input, copyButton("Copy link", () => url, input)),
    h("p", { class: "hint" }, "Anyone holding this link can download the object until it expires. It is signed with the access key you signed in with."),
  );
}

function objectActions(ctx, bucket, item, status, linkSlot, reload) {
  const name = readable(item.key);
  const buttons = [];
  if (ctx.can("read:objects")) {
    buttons.push(
      h("button", {
        type: "button",
        "aria-label": `Download ${name}`,
        onclick: async () => {
          clear(status);
          try {
            await downloadFile(objectUrl(bucket, item.key), item.key.split("/").pop() || "download");
            announce(`Downloading ${name}`);
          } catch (error) {
            status.append(errorBox(error));
          }
        },
      }, "Download"),
    );
    if (signedInWith() === "key") {
      buttons.push(
        h("button", {
          type: "button",
          "aria-label": `Copy a presigned link to ${name}`,
          onclick: async () => {
            clear(status);
            clear(linkSlot);
            try {
              const signed = await api("POST", path("/v1/buckets/{name}/objects/presign", { name: bucket }), { json: { key: item.key, expires_in: 3600 } });
              linkSlot.append(presignPanel(signed.url, signed.expires_at));
              linkSlot.querySelector("input").focus();
            } catch (error) {
              status.append(errorBox(error));
            }
          },
        }, "Presigned link"),
      );
    }
  }
  if (ctx.can("delete:objects")) {
    buttons.push(
      h("button", {
        type: "button",
        class: "danger",
        "aria-label": `Delete ${name}`,
        onclick: async () => {
          if (!(await confirmDialog(["Delete “", shownName(item.key), "”?"], "Delete object"))) return;
          clear(status);
          try {
            await api("DELETE", objectUrl(bucket, item.key));
            announce(`${name} deleted`);
            reload();
          } catch (error) {
            status.append(errorBox(error));
          }
        },
      }, "Delete"),
    );
  }
  return h("div", { class: "row-actions" }, buttons);
}

export async function render(ctx, params) {
  const bucket = params.get("bucket") || "";
  const prefix = params.get("prefix") || "";
  const status = h("div", { class: "errors" });
  const linkSlot = h("div", { class: "link-slot" });
  const listing = h("div", { class: "listing" });
  const cursors = [null]; // cursors[i] opens page i; Previous pops
  let pageIndex = 0;

  const pager = h("div", { class: "pager" });

  async function load() {
    clear(listing);
    clear(pager);
    let page;
    try {
      page = await api("GET", path("/v1/buckets/{name}/objects", { name: bucket }), {
        query: { prefix, delimiter: "/", limit: PAGE_SIZE, cursor: cursors[pageIndex] },
      });
    } catch (error) {
      listing.append(errorBox(error));
      return;
    }
    const rows = [
      ...page.prefixes.map((p) => [
        h("a", { href: ctx.link("browse", { bucket, prefix: p }), class: "folder" }, shownName(baseName(p, prefix))),
        h("span", { class: "nowrap" }, "folder"),
        "—",
        "",
      ]),
      ...page.objects.map((item) => [
        h("span", { class: "object-name" }, shownName(baseName(item.key, prefix))),
        h("span", { class: "nowrap" }, formatBytes(item.size)),
        formatTime(item.last_modified),
        objectActions(ctx, bucket, item, status, linkSlot, load),
      ]),
    ];
    listing.append(
      rows.length === 0
        ? h("p", { class: "empty" }, prefix ? "Nothing under this prefix." : "This bucket is empty.")
        : table(`Objects in ${bucket}/${readable(prefix)}`, ["Name", "Size", "Last modified", "Actions"], rows),
    );
    if (pageIndex > 0) {
      pager.append(h("button", { type: "button", onclick: () => { pageIndex -= 1; load(); } }, "Previous page"));
    }
    if (page.next_cursor) {
      pager.append(h("button", { type: "button", onclick: () => { cursors[pageIndex + 1] = page.next_cursor; pageIndex += 1; load(); } }, "Next page"));
    }
  }

  await load();
  return h(
    "section",
    { class: "page" },
    h("h1", {}, `Bucket ${bucket}`),
    breadcrumbs(ctx, bucket, prefix),
    ctx.can("write:objects") ? uploader(ctx, bucket, prefix, status, load) : null,
    signedInWith() === "key" ? null : h("p", { class: "hint" }, "Presigned links are signed with an access key: sign in with a key to make them."),
    status,
    linkSlot,
    listing,
    pager,
  );
}
