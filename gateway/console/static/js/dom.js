// Building the page: every value goes in as text (textContent / attributes), never as HTML.

/**
 * h("button", {class: "primary", onclick: fn, "aria-label": "x"}, "text", child, ...)
 * Attributes named on* become event listeners; `false`/`null`/`undefined` leave an
 * attribute out; children are nodes or strings (added as text nodes).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else if (name === "checked" || name === "disabled" || name === "hidden") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Characters that change how the text around them reads without showing themselves:
// C0/C1 controls, line/paragraph separators, bidirectional marks, embeddings, overrides
// and isolates, zero-width characters, invisible operators, the BOM, the soft hyphen.
// An object key "invoice\u202Efdp.exe" would otherwise read as "invoiceexe.pdf", and
// "report\u200B.pdf" exactly as "report.pdf" beside it.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

function codePoint(ch) {
  return `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** A string with the hidden characters spelled out ("a[U+202E]b"): labels, dialogs. */
export function readable(text) {
  return String(text).replace(HIDDEN, (ch) => `[${codePoint(ch)}]`);
}

/**
 * A name someone else chose (object key, key/user/client name, audit value), as a <bdi>
 * (isolated: its direction cannot reorder the text around it) with each hidden character
 * shown as a marked code point (an element, so no name can imitate one).
 */
export function shownName(text) {
  const value = String(text);
  const el = document.createElement("bdi");
  el.className = "name";
  let last = 0;
  for (const match of value.matchAll(HIDDEN)) {
    if (match.index > last) el.append(value.slice(last, match.index));
    const mark = document.createElement("span");
    mark.className = "hidden-char";
    mark.title = `invisible character ${codePoint(match[0])}`;
    mark.textContent = codePoint(match[0]);
    el.append(mark);
    last = match.index + match[0].length;
  }
  if (last < value.length) el.append(value.slice(last));
  return el;
}

let uid = 0;
/** A unique element id, for label/for and aria-describedby pairs. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, attrs = {}, hint = null) {
  const id = newId("f");
  const hintId = hint ? `${id}-hint` : null;
  const input = h(attrs.tag || "input", { id, "aria-describedby": hintId, ...attrs, tag: null });
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  return { wrap, input };
}

/** A fieldset of checkboxes, one per value; returns {wrap, selected()}. */
export function checkboxes(legend, values, { checked = [], describe = {} } = {}) {
  const boxes = values.map((value) => {
    const id = newId("cb");
    const input = h("input", { type: "checkbox", id, value, checked: checked.includes(value) });
    return { value, input, row: h("div", { class: "check" }, input, h("label", { for: id }, value, describe[value] ? h("span", { class: "muted" }, ` — ${describe[value]}`) : null)) };
  });
  const wrap = h("fieldset", { class: "checks" }, h("legend", {}, legend), boxes.map((b) => b.row));
  return { wrap, selected: () => boxes.filter((b) => b.input.checked).map((b) => b.value) };
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
export function formatBytes(n) {
  if (n === null || n === undefined) return "—";
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "—";
  return when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A table that becomes labelled cards at phone width (CSS reads data-label). */
export function table(caption, columns, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell))),
        ),
      ),
    ),
  );
}

/** Announce a short message to screen readers (and show it when `visible`). */
export function announce(message) {
  const status = document.getElementById("status");
  if (status) status.textContent = message;
}

/** An inline error box for a failed action (role=alert: read out at once). */
export function errorBox(error) {
  const message = error && error.message ? error.message : String(error);
  return h("div", { class: "error", role: "alert" }, message);
}

/** A modal confirmation (the native <dialog>: focus trapped, Escape cancels). */
export function confirmDialog(message, confirmLabel, { danger = true, extra = null } = {}) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", class: danger ? "danger" : "primary", value: "ok" }, confirmLabel);
    const cancel = h("button", { type: "submit", value: "cancel", formnovalidate: true }, "Cancel");
    const titleId = newId("dlg");
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId },
      h(
        "form",
        { method: "dialog" },
        h("p", { id: titleId }, message),
        extra,
        h("div", { class: "actions" }, cancel, ok),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Copy text to the clipboard (the async API, else the selection of `fallbackInput`). */
export async function copyText(text, fallbackInput = null) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackInput) {
      fallbackInput.focus();
      fallbackInput.select();
      return document.execCommand("copy");
    }
    return false;
  }
}

export function copyButton(label, getText, input = null) {
  const button = h("button", { type: "button", class: "copy" }, label);
  button.addEventListener("click", async () => {
    const done = await copyText(getText(), input);
    announce(done ? "Copied to the clipboard" : "Copy failed: select the text and copy it");
    button.textContent = done ? "Copied" : "Select and copy";
    setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
  return button;
}
