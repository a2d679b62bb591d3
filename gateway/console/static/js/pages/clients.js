// OAuth clients (admins only): register (the secret shown once), list a page at a time
// (paging.js), delete.

import { api, path } from "../api.js";
import { announce, checkboxes, clear, confirmDialog, errorBox, field, formatTime, h, readable, shownName, table } from "../dom.js";
import { pagedList } from "../paging.js";
import { ALL_SCOPES, DESCRIPTIONS } from "../scopes.js";
import { secretPanel } from "./secret.js";

// The gateway's own first-party client that this console signs users in with.
const CONSOLE_CLIENT = "cl_console";
const GRANT_TYPES = ["password", "refresh_token", "client_credentials"];

function createForm(status, slot, reload) {
  const name = field("Name", { name: "client-name", required: true, maxlength: 128 });
  const grants = checkboxes("Grant types", GRANT_TYPES, { checked: ["password", "refresh_token"] });
  const scopes = checkboxes("Scopes", ALL_SCOPES, { describe: DESCRIPTIONS });
  const button = h("button", { type: "submit", class: "primary" }, "Register client");
  const form = h("form", { class: "card", "aria-labelledby": "create-client-title" }, h("h2", { id: "create-client-title" }, "Register an OAuth client"), name.wrap, grants.wrap, scopes.wrap, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    const body = { name: name.input.value.trim(), grant_types: grants.selected(), scopes: scopes.selected() };
    // The gateway refuses a client without scopes (400: its tokens could do nothing):
    // say so here, before sending, as the Access keys form does.
    if (body.scopes.length === 0) {
      status.append(errorBox({ message: "Choose at least one scope: a client's tokens carry no more than its scopes." }));
      scopes.wrap.querySelector("input").focus();
      return;
    }
    // Likewise without a grant type (400 too; it used to register password sign-ins).
    if (body.grant_types.length === 0) {
      status.append(errorBox({ message: "Choose at least one grant type: a client without one could get no token." }));
      grants.wrap.querySelector("input").focus();
      return;
    }
    button.disabled = true;
    try {
      const client = await api("POST", "/v1/clients", { json: body });
      form.reset();
      announce(`Client ${client.name} registered`);
      clear(slot);
      const panel = secretPanel({
        title: `New client “${client.name}”`,
        values: [
          ["Client ID", client.client_id],
          ["Client secret", client.client_secret, true],
        ],
        onDone: () => name.input.focus(),
      });
      slot.append(panel);
      panel.focus();
      await reload();
    } catch (error) {
      status.append(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function actions(client, status, reload) {
  if (client.client_id === CONSOLE_CLIENT) return h("span", { class: "muted" }, "this console");
  return h("button", {
    type: "button",
    class: "danger",
    "aria-label": `Delete client ${readable(client.name)}`,
    onclick: async () => {
      if (!(await confirmDialog(["Delete the client “", shownName(client.name), "”? Its tokens stop working at once."], "Delete client"))) return;
      clear(status);
      try {
        await api("DELETE", path("/v1/clients/{id}", { id: client.client_id }));
        announce(`Client ${client.name} deleted`);
        await reload();
      } catch (error) {
        status.append(errorBox(error));
      }
    },
  }, "Delete");
}

export async function render() {
  const status = h("div", { class: "errors" });
  const slot = h("div", { class: "secret-slot" });
  const list = pagedList({
    url: "/v1/clients",
    field: "clients",
    more: "Load more clients",
    status,
    empty: "No clients yet.",
    show: (clients) =>
      table("OAuth clients", ["Name", "Client ID", "Grant types", "Scopes", "Created", "Actions"], clients.map((client) => [
        shownName(client.name),
        h("code", {}, client.client_id),
        client.grant_types.join(" "),
        client.scopes.join(" "),
        formatTime(client.created_at),
        actions(client, status, list.reload),
      ])),
  });
  await list.reload();
  return h("section", { class: "page" }, h("h1", {}, "OAuth clients"), slot, createForm(status, slot, list.reload), status, h("h2", {}, "All clients"), list.element);
}
