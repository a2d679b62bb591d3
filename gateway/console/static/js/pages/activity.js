// Activity: the audit log (GET /v1/audit-events), when the gateway has one.

import { ApiError, api } from "../api.js";
import { clear, errorBox, formatTime, h, table } from "../dom.js";

function who(actor) {
  if (!actor) return "—";
  return [actor.type, actor.id].filter(Boolean).join(" ");
}

function what(target) {
  if (!target) return "—";
  return [target.type, target.id].filter(Boolean).join(" ");
}

export async function render() {
  const listing = h("div", {});
  const pager = h("div", { class: "pager" });
  const events = [];
  let cursor = null;

  async function loadMore() {
    let page;
    try {
      page = await api("GET", "/v1/audit-events", { query: { limit: 50, cursor } });
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
        ? h("p", { class: "empty" }, "No events recorded.")
        : table("Audit events", ["Time", "Action", "Outcome", "Actor", "Target", "Address"], events.map((event) => [
          formatTime(event.time),
          h("code", {}, event.action || ""),
          event.outcome || "",
          who(event.actor),
          what(event.target),
          event.client_address || "—",
        ])),
    );
    if (cursor) pager.append(h("button", { type: "button", onclick: loadMore }, "Load more events"));
  }

  await loadMore();
  return h("section", { class: "page" }, h("h1", {}, "Activity"), h("p", { class: "lead" }, "Who changed what, and every sign-in."), listing, pager);
}
