// Signing in and out. A user's sign-in goes through the console's session endpoint, which
// runs the OAuth password grant server-side: the access token comes back to this page
// (kept in memory), the refresh token goes into an HttpOnly cookie this code never sees.
// An access key secret is used directly as the Bearer credential, also in memory only.

import { ApiError, api, setCredential, setUnauthorizedHandler } from "./api.js";

const SESSION = "/console/session";
// Required by the session endpoint: a custom header a cross-site form cannot send.
const CONSOLE_HEADER = { "X-Nfyio-Console": "1" };

let mode = null; // "user" (cookie session) or "key" (a secret in memory)
let timer = null;
let refreshing = null;
let active = false; // signed in, and not yet told that it ended
let onEnded = null;

/** `handler()` runs when a signed-in session stops working (revoked, expired, disabled). */
export function onSessionEnded(handler) {
  onEnded = handler;
}

function ended() {
  if (!active) return;
  active = false;
  forget();
  if (onEnded) onEnded();
}

// Every call that presents or replaces the refresh cookie runs under one lock shared by
// all of this origin's tabs. Refresh tokens rotate on each use and a token presented twice
// revokes its whole family, so two tabs refreshing at once (a browser restoring several
// console tabs, "Duplicate tab") would sign every tab out. Under the lock the second tab's
// request leaves after the first one's answer has replaced the cookie, and presents the
// new token. (navigator.locks exists in secure contexts only: elsewhere the Secure cookie
// is not kept either, so there is nothing to serialise.)
const SESSION_LOCK = "nfyio-console-session";

function exclusive(work) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request(SESSION_LOCK, work);
  return work();
}

function sessionCall(method, url, body = undefined) {
  return exclusive(() => sessionRequest(method, url, body));
}

async function sessionRequest(method, url, body) {
  const init = {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { ...CONSOLE_HEADER },
  };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, error.code || `HTTP${response.status}`, error.message || "Sign-in failed", error.details || {});
  }
  return data;
}

function schedule(expiresIn) {
  clearTimeout(timer);
  // Renew a minute before the access token expires (at least 10 s from now).
  const seconds = Math.max(10, Number(expiresIn) - 60);
  timer = setTimeout(() => {
    refresh().catch(() => undefined);
  }, seconds * 1000);
}

function accept(grant) {
  mode = "user";
  setCredential(grant.access_token);
  schedule(grant.expires_in);
}

/** A new access token from the cookie; false when the session has ended. */
export function refresh() {
  if (mode === "key") return Promise.resolve(false);
  if (!refreshing) {
    refreshing = sessionCall("POST", `${SESSION}/refresh`)
      .then((grant) => {
        accept(grant);
        return true;
      })
      .catch(() => {
        ended();
        forget();
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// A 401 from the API: renew a user's token once; a key that stopped working ends it all.
setUnauthorizedHandler(async () => {
  const renewed = await refresh();
  if (!renewed) ended();
  return renewed;
});

function forget() {
  clearTimeout(timer);
  setCredential(null);
  mode = null;
}

export async function me() {
  return api("GET", "/v1/me");
}

export async function signInWithPassword(username, password) {
  accept(await sessionCall("POST", SESSION, { username, password }));
  const who = await me();
  active = true;
  return who;
}

export async function signInWithKey(secret) {
  forget();
  mode = "key";
  setCredential(secret.trim());
  try {
    const who = await me();
    active = true;
    return who;
  } catch (error) {
    forget();
    throw error;
  }
}

/** On page load: the cookie session, if one is still alive. */
export async function resume() {
  if (!(await refresh())) return null;
  try {
    const who = await me();
    active = true;
    return who;
  } catch {
    forget();
    return null;
  }
}

/** Revoke the session server-side (the cookie's refresh family) and forget the token. */
export async function signOut() {
  active = false;
  forget();
  await sessionCall("DELETE", SESSION); // idempotent: also clears a stale cookie
}

export function signedInWith() {
  return mode;
}
