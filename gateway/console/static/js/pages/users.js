// Users (admins only): create, disable or enable, set a password, delete; listed a
// page at a time (paging.js).

import { api, path } from "../api.js";
import { announce, checkboxes, clear, confirmDialog, errorBox, field, formatTime, h, newId, table } from "../dom.js";
import { pagedList } from "../paging.js";
import { ALL_SCOPES, DESCRIPTIONS } from "../scopes.js";

function createForm(status, reload) {
  const username = field("User name", { name: "new-username", required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
  const password = field("Password", { name: "new-password", type: "password", required: true, autocomplete: "new-password", minlength: 8 }, "At least 8 characters.");
  const scopes = checkboxes("Scopes", ALL_SCOPES, { describe: DESCRIPTIONS });
  const button = h("button", { type: "submit", class: "primary" }, "Create user");
  const form = h("form", { class: "card", "aria-labelledby": "create-user-title" }, h("h2", { id: "create-user-title" }, "Create a user"), username.wrap, password.wrap, scopes.wrap, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    button.disabled = true;
    try {
      const user = await api("POST", "/v1/users", { json: { username: username.input.value.trim(), password: password.input.value, scopes: scopes.selected() } });
      form.reset();
      announce(`User ${user.username} created`);
      await reload();
      username.input.focus();
    } catch (error) {
      status.append(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function patch(user, body, status, reload, done) {
  clear(status);
  try {
    await api("PATCH", path("/v1/users/{id}", { id: user.id }), { json: body });
    announce(done);
    await reload();
  } catch (error) {
    status.append(errorBox(error));
  }
}

function actions(user, status, reload) {
  const toggle = user.disabled
    ? h("button", { type: "button", "aria-label": `Enable ${user.username}`, onclick: () => patch(user, { disabled: false }, status, reload, `${user.username} enabled`) }, "Enable")
    : h("button", { type: "button", "aria-label": `Disable ${user.username}`, onclick: () => patch(user, { disabled: true }, status, reload, `${user.username} disabled`) }, "Disable");
  const setPassword = h("button", {
    type: "button",
    "aria-label": `Set a new password for ${user.username}`,
    onclick: async () => {
      const id = newId("pw");
      const input = h("input", { id, type: "password", autocomplete: "new-password", minlength: 8, required: true });
      const extra = h("div", { class: "field" }, h("label", { for: id }, "New password"), input);
      if (!(await confirmDialog(`Set a new password for ${user.username}? Their sessions end.`, "Set password", { danger: false, extra }))) return;
      await patch(user, { password: input.value }, status, reload, `Password of ${user.username} changed`);
    },
  }, "Set password");
  const remove = h("button", {
    type: "button",
    class: "danger",
    "aria-label": `Delete ${user.username}`,
    onclick: async () => {
      if (!(await confirmDialog(`Delete the user ${user.username}? Their sessions end at once.`, "Delete user"))) return;
      clear(status);
      try {
        await api("DELETE", path("/v1/users/{id}", { id: user.id }));
        announce(`${user.username} deleted`);
        await reload();
      } catch (error) {
        status.append(errorBox(error));
      }
    },
  }, "Delete");
  return h("div", { class: "row-actions" }, toggle, setPassword, remove);
}

export async function render() {
  const status = h("div", { class: "errors" });
  const list = pagedList({
    url: "/v1/users",
    field: "users",
    more: "Load more users",
    status,
    empty: "No users yet.",
    show: (users) =>
      table("Users", ["User name", "Scopes", "Status", "Created", "Actions"], users.map((user) => [
        user.username,
        user.scopes.join(" "),
        h("span", { class: `badge ${user.disabled ? "revoked" : "active"}` }, user.disabled ? "disabled" : "active"),
        formatTime(user.created_at),
        actions(user, status, list.reload),
      ])),
  });
  await list.reload();
  return h("section", { class: "page" }, h("h1", {}, "Users"), createForm(status, list.reload), status, h("h2", {}, "All users"), list.element);
}
