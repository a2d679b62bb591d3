// The console shell: sign-in, navigation (the URL fragment: #/buckets, #/keys, ...), and
// focus management (each page's heading takes the focus, so keyboard and screen-reader
// users land on what changed).

import { api } from "./api.js";
import { announce, clear, errorBox, h } from "./dom.js";
import { grants } from "./scopes.js";
import { onConnectionTrouble, onSessionEnded, resume, retryNow, signOut, signedInWith } from "./session.js";
import * as account from "./pages/account.js";
import * as activity from "./pages/activity.js";
import * as browser from "./pages/browser.js";
import * as buckets from "./pages/buckets.js";
import * as clients from "./pages/clients.js";
import * as keys from "./pages/keys.js";
import * as signin from "./pages/signin.js";
import * as users from "./pages/users.js";

const PAGES = {
  buckets: { title: "Buckets", page: buckets, allowed: (ctx) => ctx.can("read:buckets") },
  browse: { title: "Bucket", page: browser, allowed: (ctx) => ctx.can("read:objects"), hidden: true },
  keys: { title: "Access keys", page: keys, allowed: () => true },
  users: { title: "Users", page: users, allowed: (ctx) => ctx.can("admin") },
  clients: { title: "OAuth clients", page: clients, allowed: (ctx) => ctx.can("admin") },
  account: { title: "Account", page: account, allowed: () => true },
  activity: { title: "Activity", page: activity, allowed: (ctx) => ctx.can("admin") },
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const whoami = document.getElementById("whoami");
const connection = document.getElementById("connection");
let ctx = null;
let settings = null;
let navigation = 0; // the latest route() call; an older one that finishes late is dropped

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [name, query = ""] = raw.split("?", 2);
  return { name, params: new URLSearchParams(query) };
}

export function link(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${name}${query ? `?${query}` : ""}`;
}

function defaultPage() {
  return PAGES.buckets.allowed(ctx) ? "buckets" : "account";
}

function renderNav(current) {
  clear(nav);
  const items = Object.entries(PAGES)
    .filter(([, page]) => !page.hidden && page.allowed(ctx))
    .map(([name, page]) => {
      const active = name === current || (current === "browse" && name === "buckets");
      return h("li", {}, h("a", { href: link(name), "aria-current": active ? "page" : null }, page.title));
    });
  nav.append(h("ul", {}, items));
  nav.hidden = false;
}

function renderWhoami() {
  clear(whoami);
  if (!ctx) return;
  const how = signedInWith() === "user" ? "user" : "access key";
  whoami.append(
    h("span", { class: "who" }, ctx.me.name || ctx.me.subject, h("span", { class: "muted" }, ` (${how})`)),
    h("button", { type: "button", id: "sign-out", onclick: onSignOut }, "Sign out"),
  );
}

async function onSignOut() {
  ctx = null;
  history.replaceState(null, "", "#/");
  try {
    await signOut();
  } catch (error) {
    // The page has forgotten its token, but the gateway never heard: the session (and
    // its cookie) is still alive, and a reload would resume it. Say so, visibly.
    showSignIn(null, signOutFailed(error));
    return;
  }
  showSignIn("You are signed out.");
}

function signOutFailed(error) {
  const retry = h("button", { type: "button", onclick: onSignOut }, "Sign out again");
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, `Sign-out did not reach the gateway (${error.message}): this browser's session is still active there, and reloading the page would resume it.`),
    retry,
  );
}

// A session renewal that failed without the session ending (the network, a busy or
// unavailable gateway): the page stays, says why and when the console tries again.
function troubleText(problem) {
  let what;
  if (problem.status === 0) {
    what = "The console cannot reach the gateway: the network or the gateway is down.";
  } else if (problem.status === 429) {
    what = `The gateway is busy (429: ${problem.message}).`;
  } else {
    what = `The gateway is unavailable for the moment (${problem.status}: ${problem.message}).`;
  }
  return `${what} You are still signed in; the console will try again in ${problem.retryIn} s.`;
}

let troubled = false;

function showTrouble(problem, recovered) {
  clear(connection);
  if (!problem) {
    if (troubled && recovered) announce("The gateway answers again; the console carries on.");
    troubled = false;
    return;
  }
  troubled = true;
  connection.append(
    h(
      "div",
      { class: "warning" },
      h("p", {}, troubleText(problem)),
      h("button", { type: "button", onclick: retryNow }, "Retry now"),
    ),
  );
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  } else {
    main.focus();
  }
}

async function route() {
  if (!ctx) return;
  const { name, params } = parseHash();
  const entry = PAGES[name];
  if (!entry || !entry.allowed(ctx)) {
    history.replaceState(null, "", link(defaultPage()));
    return route();
  }
  renderNav(name);
  document.title = `${entry.title} · nfyio-gateway console`;
  clear(main);
  main.append(h("p", { class: "loading" }, "Loading…"));
  const session = ctx;
  navigation += 1;
  const mine = navigation;
  let content;
  try {
    content = await entry.page.render(ctx, params);
  } catch (error) {
    content = h("div", {}, h("h1", {}, entry.title), errorBox(error));
  }
  // Signed out, the session ended, or the user went elsewhere meanwhile.
  if (ctx !== session || mine !== navigation) return;
  clear(main);
  main.append(content);
  focusHeading();
}

function start(me) {
  ctx = {
    me,
    settings,
    can: (scope) => grants(me.scopes, scope),
    link,
    refresh: route,
  };
  renderWhoami();
  if (!location.hash.startsWith("#/") || location.hash === "#/") {
    history.replaceState(null, "", link(defaultPage()));
  }
  route();
}

function showSignIn(message = null, problem = null) {
  nav.hidden = true;
  clear(nav);
  renderWhoami();
  document.title = "Sign in · nfyio-gateway console";
  clear(main);
  main.append(signin.render({ onSignedIn: start, message, problem }));
  const first = main.querySelector(problem ? ".error button" : "input");
  if (first) first.focus();
}

async function boot() {
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    focusHeading();
  });
  window.addEventListener("hashchange", route);
  onConnectionTrouble(showTrouble);
  onSessionEnded(() => {
    ctx = null;
    showSignIn("Your session has ended (signed out elsewhere, revoked or expired). Sign in again.");
  });
  try {
    settings = await api("GET", "/console/settings.json");
  } catch {
    settings = { s3_endpoint: `${location.protocol}//${location.hostname}:7007`, region: "us-east-1" };
  }
  const me = await resume();
  if (me) start(me);
  else showSignIn();
}

boot();
