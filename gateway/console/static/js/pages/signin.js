// Sign-in: a user's name and password, or an access key secret.

import { clear, errorBox, field, h, newId } from "../dom.js";
import { signInWithKey, signInWithPassword } from "../session.js";

function form(title, fields, submitLabel, action, onSignedIn, errors) {
  const button = h("button", { type: "submit", class: "primary" }, submitLabel);
  const titleId = newId("signin");
  const el = h("form", { class: "card signin", "aria-labelledby": titleId }, h("h2", { id: titleId }, title), fields, button);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(errors);
    button.disabled = true;
    try {
      const me = await action();
      onSignedIn(me);
    } catch (error) {
      errors.append(errorBox(error));
      button.disabled = false;
      const first = el.querySelector("input");
      if (first) first.focus();
    }
  });
  return el;
}

export function render({ onSignedIn, message, problem = null }) {
  const errors = h("div", { class: "errors" });
  const username = field("User name", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const secret = field(
    "Access key secret",
    { name: "secret", type: "password", autocomplete: "off", required: true, spellcheck: "false" },
    "The sk_… secret of a key (also what boto3 calls the secret access key). It stays in this tab's memory only.",
  );
  return h(
    "div",
    { class: "signin-page" },
    h("h1", {}, "Sign in to the nfyio-gateway console"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    problem,
    errors,
    h(
      "div",
      { class: "signin-forms" },
      form("With your user name", [username.wrap, password.wrap], "Sign in", () => signInWithPassword(username.input.value, password.input.value), onSignedIn, errors),
      form("With an access key", [secret.wrap], "Sign in with key", () => signInWithKey(secret.input.value), onSignedIn, errors),
    ),
  );
}
