// Activity: the audit log (GET /v1/audit-events), newest first, with filters.
// The filters live in the URL fragment (#/activity?target=ak_...), so a key's or a user's
// history is a link; every value is shown as text.

import { ApiError, api } from "../api.js";
import { clear, errorBox, field, formatTime, h, readable, shownName } from "../dom.js";

const ACTIONS = [
  ["", "Any action"],
  ["access_key.*", "Access keys: any"],
  ["access_key.create", "Access key created"],
  ["access_key.revoke", "Access key revoked"],
  ["access_key.rotate", "Access key rotated"],
  ["access_key.use", "Access key used"],
  ["access_key.expired", "Expired access key presented"],
  ["auth.*", "Sign-ins: any"],
  ["auth.password.success", "Sign-in succeeded"],
  ["auth.password.failure", "Sign-in failed"],
  ["auth.client.failure", "Client authentication failed"],
  ["refresh_token.reuse_detected", "Refresh token reused"],
  ["session.revoke", "Session revoked"],
  ["user.*", "Users: any"],
  ["client.*", "OAuth clients: any"],
  ["account.*", "Accounts: any"],
  ["bucket.*", "Buckets: any"],
  ["lifecycle.*", "Lifecycle: anything removed"],
  ["lifecycle.object.expire", "Lifecycle: object expired"],
  ["lifecycle.version.expire", "Lifecycle: noncurrent version expired"],
  ["lifecycle.delete_marker.create", "Lifecycle: delete marker added"],
  ["lifecycle.delete_marker.expire", "Lifecycle: delete marker removed"],
  ["lifecycle.upload.abort", "Lifecycle: upload aborted"],
];

const FILTERS = ["action", "actor", "target", "bucket", "since", "until"];

function who(actor) {
  if (!actor) return "—";
  return [actor.type, actor.id].filter(Boolean).join(" ");
}

function what(target) {
  if (!target || (!target.type && !target.id)) return "—";
  return [target.type, target.id].filter(Boolean).join(" ");
}

/** A short reading of an event's details: the error or reason of a failure, the scopes. */
function note(event) {
  const details = event.details || {};
  const parts = [];
  for (const name of ["error", "reason", "status", "listener", "operation", "rule_id", "version_id", "upload_id"]) {
    if (details[name] !== undefined && details[name] !== null) parts.push(`${name}: ${details[name]}`);
  }
  if (Array.isArray(details.scopes)) parts.push(`scopes: ${details.scopes.join(" ")}`);
  return parts.length ? parts.join(", ") : "—";
}

// datetime-local (the user's time zone) <-> RFC 3339 (UTC) for the API.
function toInstant(local) {
  if (!local) return null;
  const when = new Date(local);
  return Number.isNaN(when.getTime()) ? null : when.toISOString();
}

function toLocal(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

function filterForm(ctx, current) {
  const actionId = "activity-action";
  const action = h("select", { id: actionId, name: "action" }, ACTIONS.map(([value, label]) => h("option", { value, selected: value === (current.action || "") }, label)));
  if (current.action && !ACTIONS.some(([value]) => value === current.action)) {
    action.append(h("option", { value: current.action, selected: true }, current.action));
  }
  const actor = field("Actor ID", { name: "actor", value: current.actor || "", autocomplete: "off", spellcheck: "false" });
  const target = field("Target ID", { name: "target", value: current.target || "", autocomplete: "off", spellcheck: "false" });
  const bucket = field("Bucket", { name: "bucket", value: current.bucket || "", autocomplete: "off", spellcheck: "false" });
  const since = field("From", { name: "since", type: "datetime-local", value: toLocal(current.since) });
  const until = field("Until", { name: "until", type: "datetime-local", value: toLocal(current.until) });
  const form = h(
    "form",
    { class: "card filters", role: "search", "aria-labelledby": "activity-filter-title" },
    h("h2", { id: "activity-filter-title" }, "Filter"),
    h(
      "div",
      { class: "filter-grid" },
      h("div", { class: "field" }, h("label", { for: actionId }, "Action"), action),
      actor.wrap,
      target.wrap,
      bucket.wrap,
      since.wrap,
      until.wrap,
    ),
    h(
      "div",
      { class: "row-actions" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("button", { type: "button", onclick: () => { location.hash = ctx.link("activity"); } }, "Clear"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = {};
    const values = {
      action: action.value,
      actor: actor.input.value.trim(),
      target: target.input.value.trim(),
      bucket: bucket.input.value.trim(),
      since: toInstant(since.input.value),
      until: toInstant(until.input.value),
    };
    for (const name of FILTERS) if (values[name]) params[name] = values[name];
    location.hash = ctx.link("activity", params);
  });
  return form;
}

export async function render(ctx, params = new URLSearchParams()) {
  const current = {};
  for (const name of FILTERS) if (params.get(name)) current[name] = params.get(name);
  const listing = h("div", { "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  const events = [];
  let cursor = null;

  async function loadMore() {
    let page;
    try {
      page = await api("GET", "/v1/audit-events", { query: { limit: 50, cursor, ...current } });
    } catch (error) {
      clear(listing);
      clear(pager);
      if (error instanceof ApiError && (error.status === 404 || error.status === 501)) {
        listing.append(h("p", { class: "notice", role: "status" }, "The activity log is not available on this gateway yet."));
      } else {
        listing.append(errorBox(error));
      }
      return;
    }
    events.push(...(page.events || []));
    cursor = page.next_cursor || null;
    clear(listing);
    clear(pager);
    listing.append(
      events.length === 0
        ? h("p", { class: "empty" }, Object.keys(current).length ? "No events match these filters." : "No events recorded.")
        : table(events),
    );
    if (cursor) pager.append(h("button", { type: "button", onclick: loadMore }, "Load more events"));
  }

  function table(rows) {
    const columns = ["Time", "Action", "Outcome", "Actor", "Target", "Address", "Details"];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data" },
        h("caption", { class: "visually-hidden" }, "Audit events"),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          rows.map((event) => {
            const cells = [
              h("time", { datetime: event.time, title: event.time }, formatTime(event.time)),
              h("code", {}, event.action || ""),
              h("span", { class: `badge ${event.outcome === "success" ? "active" : "revoked"}` }, event.outcome || ""),
              shownName(who(event.actor)),
              event.target && event.target.id
                ? h("a", { href: ctx.link("activity", { target: event.target.id }), "aria-label": `Events of ${readable(what(event.target))}` }, shownName(what(event.target)))
                : shownName(what(event.target)),
              h("span", { title: event.user_agent || "" }, event.client_address || "—"),
              shownName(note(event)),
            ];
            return h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)));
          }),
        ),
      ),
    );
  }

  await loadMore();
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "Activity"),
    h("p", { class: "lead" }, "Who changed what, and every sign-in: newest first."),
    filterForm(ctx, current),
    listing,
    pager,
  );
}
