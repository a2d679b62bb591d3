// A list the REST API answers a page at a time (`limit`, `cursor`, `next_cursor`): the
// first page, then a "Load more" button while a cursor follows, so an installation with
// more entries than one page sees all of them. A reload after a change fetches as many
// entries as were shown before (the row just acted on stays in view); cursors are
// opaque and go back exactly as the API sent them.

import { api } from "./api.js";
import { announce, clear, errorBox, h } from "./dom.js";

export const PAGE_SIZE = 100;

/**
 * `url` the list route (`query` its filters, e.g. `{ mine: true }`), `field` the array
 * in its answer, `show(items)` the element for
 * the entries so far (`empty` the text shown while there are none), `more` the button's
 * label, `status` where a failed "Load more" is shown. Returns `{ element, reload }`:
 * `reload()` (re)reads from the first page.
 */
export function pagedList({ url, query = {}, field, show, empty, more, status }) {
  const listing = h("div", {});
  const pager = h("div", { class: "pager" });
  const items = [];
  let cursor = null;

  async function fetchPage() {
    const page = await api("GET", url, { query: { ...query, limit: PAGE_SIZE, cursor } });
    items.push(...page[field]);
    cursor = page.next_cursor || null;
  }

  function draw() {
    clear(listing);
    listing.append(items.length === 0 ? h("p", { class: "empty" }, empty) : show(items));
    if (cursor && pager.childElementCount === 0) {
      pager.append(h("button", { type: "button", onclick: loadMore }, more));
    } else if (!cursor) {
      clear(pager);
    }
  }

  async function loadMore() {
    const before = items.length;
    try {
      await fetchPage();
    } catch (error) {
      status.append(errorBox(error));
      return;
    }
    draw();
    announce(`${items.length - before} more loaded${cursor ? "" : ": that is all"}`);
  }

  async function reload() {
    const shown = Math.max(items.length, 1);
    items.length = 0;
    cursor = null;
    do {
      await fetchPage();
    } while (cursor && items.length < shown);
    draw();
  }

  return { element: h("div", {}, listing, pager), reload };
}
