// Signing in and out. A user's sign-in goes through the console's session endpoint, which
// runs the OAuth password grant server-side: the access token comes back to this page
// (kept in memory), the refresh token goes into an HttpOnly cookie this code never sees.
// An access key secret is used directly as the Bearer credential, also in memory only.

import { ApiError, api, setCredential, setUnauthorizedHandler } from "./api.js";

const SESSION = "/console/session";
// Required by the session endpoint: a custom header a cross-site form cannot send. Its
// value 3 says this script reads a refresh's 204 as "no session" and names its session
// (below); scripts from before sent 2 or 1 (gateway/console/session.py).
const CONSOLE_HEADER = { "X-Nfyio-Console": "3" };

// Which session this origin's tabs signed in to: its id (not a credential: worthless
// without the HttpOnly cookie), sent back with every call that presents the cookie, which
// the gateway honours only for that session. Cookies ignore ports, so a page the S3
// listener serves on this host (a user's HTML object) can set the console's cookie and
// plant its author's session; it cannot write this origin's localStorage. This page's
// memory keeps it too, for when the browser refuses storage (switched off, or a throwing
// localStorage): renewals and the sign-out still name the session, so it lasts as long
// as this page, and only a reload asks for the password again.
const SESSION_ID = "nfyio-console-session";
let pageSession = null;

function boundSession() {
  try {
    return localStorage.getItem(SESSION_ID);
  } catch {
    return pageSession; // storage switched off: this page's own, until it is reloaded
  }
}

function bindSession(id) {
  pageSession = id || null;
  try {
    if (id) localStorage.setItem(SESSION_ID, id);
    else localStorage.removeItem(SESSION_ID);
  } catch {
    // storage switched off: pageSession alone keeps it, for this page's life
  }
}

// Renewal while the gateway cannot answer (docs/console.md, "Signing in"): the refresh
// cookie is still good, so the session is kept and the renewal tried again, after the
// gateway's Retry-After when it sent one, else after a doubling, jittered pause.
const RETRY_FIRST = 1; // seconds before the first retry (without Retry-After)
const RETRY_MOST = 60; // seconds between retries at most (without Retry-After)
const RETRY_AFTER_MOST = 300; // a longer Retry-After (a confused proxy) is cut to this
const ACTION_WAIT = 30; // seconds a user's action waits for the renewal before failing

let mode = null; // "user" (cookie session) or "key" (a secret in memory)
let timer = null;
let renewing = null; // the running renewal (its retries included), shared by all callers
let epoch = 0; // bumped by forget(): a renewal from before a sign-out stops there
let wake = null; // ends the pause before the next retry (the "Retry now" button, "online")
let trouble = null; // why the last renewal attempt failed, while it is being retried
const watchers = new Set();
let active = false; // signed in, and not yet told that it ended
let onEnded = null;
let onTrouble = null;

/** `handler()` runs when a signed-in session stops working (revoked, expired, disabled). */
export function onSessionEnded(handler) {
  onEnded = handler;
}

/**
 * `handler(problem)` runs when a renewal failed for a reason that does not end the
 * session (the network, a busy or unavailable gateway) and will be retried: `problem` is
 * `{ status, code, message, retryIn, retryAt }` (status 0: no answer; retryIn in seconds,
 * retryAt in ms since the epoch); and `handler(null, recovered)` once that is over:
 * `recovered` true when the renewal worked, false when the session ended instead.
 */
export function onConnectionTrouble(handler) {
  onTrouble = handler;
}

/** Try the pending renewal now instead of waiting out the pause. */
export function retryNow() {
  if (wake) wake();
}

function report(problem, recovered = false) {
  if (trouble === problem) return;
  trouble = problem;
  if (onTrouble) onTrouble(problem, recovered);
  for (const watcher of watchers) watcher();
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
// new token. Each retry of a failed renewal takes the lock anew. (navigator.locks exists
// in secure contexts only: elsewhere the Secure cookie is not kept either, so there is
// nothing to serialise.)
const SESSION_LOCK = "nfyio-console-session";

function exclusive(work) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request(SESSION_LOCK, work);
  return work();
}

function sessionCall(method, url, body = undefined) {
  return exclusive(() => sessionRequest(method, url, body));
}

/** Retry-After in seconds (delta-seconds or an HTTP date), else null. */
function retryAfterOf(response) {
  const value = (response.headers.get("Retry-After") || "").trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

async function sessionRequest(method, url, body) {
  const init = {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { ...CONSOLE_HEADER },
  };
  const bound = boundSession();
  if (bound) init.headers["X-Nfyio-Console-Session"] = bound;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  // Still under the session lock: the cookie and the name of its session change together.
  // 204: no session (signed out, or none to renew); a refresh's 401: it has ended.
  if (response.status === 204 || (response.status === 401 && url.endsWith("/refresh"))) bindSession(null);
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok && data && typeof data.session_id === "string") bindSession(data.session_id);
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    const failure = new ApiError(response.status, error.code || `HTTP${response.status}`, error.message || "Sign-in failed", error.details || {});
    failure.retryAfter = retryAfterOf(response);
    throw failure;
  }
  return data;
}

/**
 * Whether a failed renewal may work if tried again: no answer at all (fetch rejects with
 * a TypeError when the network or the gateway is down), 408, 429 (rate limited) or 5xx
 * (503: the state store is unavailable; a proxy's 502/504 while the gateway restarts).
 * Anything else is the gateway refusing the session (401 NoSession: signed out
 * elsewhere, revoked, expired, the token reused) or this page's calls (403), which no
 * retry cures: the session ends.
 */
function transient(error) {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
}

function retryDelay(error, attempt) {
  const backoff = Math.min(RETRY_MOST, RETRY_FIRST * 2 ** attempt);
  const jittered = backoff * (0.5 + Math.random() / 2); // tabs and users spread out
  const asked = error instanceof ApiError ? error.retryAfter : null;
  if (asked === null || asked === undefined) return jittered;
  return Math.min(RETRY_AFTER_MOST, Math.max(asked, jittered));
}

function describe(error, seconds) {
  const retryIn = Math.ceil(seconds);
  const retryAt = Date.now() + seconds * 1000;
  if (error instanceof ApiError) {
    return { status: error.status, code: error.code, message: error.message, retryIn, retryAt };
  }
  return { status: 0, code: "NetworkError", message: "no answer", retryIn, retryAt };
}

function pause(seconds) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(pending);
      window.removeEventListener("online", done);
      if (wake === done) wake = null;
      resolve();
    };
    const pending = setTimeout(done, seconds * 1000);
    window.addEventListener("online", done); // the network is back: no need to wait on
    wake = done;
  });
}

function schedule(expiresIn) {
  clearTimeout(timer);
  // Renew a minute before the access token expires (at least 10 s from now).
  const seconds = Math.max(10, Number(expiresIn) - 60);
  timer = setTimeout(() => {
    renew().catch(() => undefined);
  }, seconds * 1000);
}

function accept(grant) {
  if (!grant || typeof grant.access_token !== "string") throw new TypeError("not a session answer");
  mode = "user";
  setCredential(grant.access_token);
  schedule(grant.expires_in);
}

/**
 * A new access token from the cookie: resolves true once renewed (retrying through
 * network failures and busy answers, with the current token kept meanwhile), false when
 * there is no session (204: no cookie), the gateway refused it (401: it has ended) or
 * the page signed out meanwhile.
 */
export function renew() {
  if (mode === "key") return Promise.resolve(false);
  if (!renewing) {
    const running = renewUntilAnswered(epoch).finally(() => {
      if (renewing === running) renewing = null;
    });
    renewing = running;
  }
  return renewing;
}

/** The renewal found no session (no cookie, or one the gateway refused): it has ended. */
function noSession() {
  report(null);
  ended();
  forget();
  return false;
}

async function renewUntilAnswered(started) {
  for (let attempt = 0; ; attempt += 1) {
    let grant;
    try {
      grant = await sessionCall("POST", `${SESSION}/refresh`);
      if (epoch !== started) return false; // signed out (or in anew) meanwhile
      // 204: this browser holds no session cookie (a fresh visit, or signed out in
      // another tab): nothing to renew, and the gateway said so without an error.
      if (grant === null) return noSession();
      accept(grant);
    } catch (error) {
      if (epoch !== started) return false;
      if (!transient(error)) return noSession();
      const seconds = retryDelay(error, attempt);
      report(describe(error, seconds));
      await pause(seconds);
      if (epoch !== started) return false;
      continue;
    }
    report(null, true);
    return true;
  }
}

/**
 * The renewal an API call that was answered 401 waits for: true to send the call again,
 * false when the session has ended. While the gateway cannot be reached it waits at most
 * ACTION_WAIT seconds (less when the next retry is further off), then fails the action
 * with an error saying so; the session is kept and the renewal goes on being retried.
 */
function renewForAction() {
  const deadline = Date.now() + ACTION_WAIT * 1000;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(giveUp);
      watchers.delete(check);
    };
    const fail = () => {
      done();
      const why = trouble ? ` (${trouble.status ? `${trouble.status} ${trouble.message}` : trouble.message})` : "";
      reject(
        new ApiError(
          trouble ? trouble.status : 0,
          "GatewayUnavailable",
          `The gateway could not be reached to renew your session${why}. You are still signed in, and the console keeps trying: repeat this once it is back.`,
        ),
      );
    };
    const check = () => {
      if (trouble && trouble.retryAt > deadline) fail();
    };
    const giveUp = setTimeout(fail, ACTION_WAIT * 1000);
    watchers.add(check);
    renew().then(
      (renewed) => {
        done();
        resolve(renewed);
      },
      (error) => {
        done();
        reject(error);
      },
    );
    check();
  });
}

// A 401 from the API: renew a user's token (once per call); a key that stopped working ends it all.
setUnauthorizedHandler(async () => {
  if (mode !== "user") {
    ended();
    return false;
  }
  return renewForAction();
});

function forget() {
  clearTimeout(timer);
  setCredential(null);
  mode = null;
  epoch += 1;
  renewing = null;
  report(null);
  if (wake) wake();
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

/** On page load: the cookie session, if one is still alive (waiting out an outage). */
export async function resume() {
  if (!(await renew())) return null;
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
