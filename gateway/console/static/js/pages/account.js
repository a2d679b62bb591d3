// Account: who the console is signed in as, what it may do, and the keys it owns.

import { api } from "../api.js";
import { formatTime, h, table } from "../dom.js";
import { signedInWith } from "../session.js";
import { KEY_COLUMNS, keyRows } from "./keys.js";

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

async function ownKeys(me) {
  const mine = [];
  let cursor = null;
  // Admins list every key: keep the caller's own (created by it, or the one it uses).
  do {
    const page = await api("GET", "/v1/access-keys", { query: { limit: 1000, cursor } });
    mine.push(...page.access_keys.filter((key) => key.owner === me.subject || key.id === me.key_id));
    cursor = page.next_cursor;
  } while (cursor && mine.length < 1000);
  return mine;
}

export async function render(ctx) {
  const { me } = ctx;
  const keys = await ownKeys(me);
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
    keys.length === 0
      ? h("p", { class: "empty" }, "You have no access keys. Create one on the ", h("a", { href: ctx.link("keys") }, "Access keys"), " page.")
      : table("Your keys", KEY_COLUMNS, keyRows(ctx, keys)),
  );
}
