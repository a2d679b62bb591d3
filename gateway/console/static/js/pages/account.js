// Account: who the console is signed in as, what it may do, and the keys it owns.

import { formatTime, h, table } from "../dom.js";
import { pagedList } from "../paging.js";
import { signedInWith } from "../session.js";
import { KEY_COLUMNS, keyRows } from "./keys.js";

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export async function render(ctx) {
  const { me } = ctx;
  const status = h("div", { class: "errors" });
  // The caller's own keys (created by it, or the one it uses), filtered by the API
  // (`mine=true`), so an admin's page does not read every key of the account.
  const keys = pagedList({
    url: "/v1/access-keys",
    query: { mine: true },
    field: "access_keys",
    more: "Load more keys",
    status,
    empty: h("span", {}, "You have no access keys. Create one on the ", h("a", { href: ctx.link("keys") }, "Access keys"), " page."),
    show: (items) => table("Your keys", KEY_COLUMNS, keyRows(ctx, items)),
  });
  await keys.reload();
  const kinds = { key: "access key", user: "user", client: "OAuth client" };
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "Account"),
    h("h2", {}, "Who you are"),
    facts([
      ["Signed in as", me.name || me.subject],
      ["Kind", kinds[me.kind] || me.kind],
      ["Identifier", h("code", {}, me.subject)],
      ["Signed in with", signedInWith() === "user" ? "user name and password (session)" : "an access key secret"],
      ["Scopes", me.scopes.join(" ") || "none"],
      ["Bucket limits", me.buckets ? me.buckets.join(" ") : "none: every bucket"],
      ["Credential expires", me.expires_at ? formatTime(me.expires_at) : "never"],
    ]),
    h("h2", {}, "Your keys"),
    status,
    keys.element,
  );
}
