// Calls to the gateway's REST API. The credential (an OAuth access token or an access key
// secret) lives in this module's memory only: never in storage, a cookie or a URL. It
// travels in the Authorization header, so no API call can be forged cross-site (CSRF).

let credential = null;
let onUnauthorized = null;

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function setCredential(value) {
  credential = value;
}

export function hasCredential() {
  return credential !== null;
}

/** `handler()` resolves true when it obtained a fresh credential (the session refresh). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * A route with its parameters filled in, each one path segment. "." and ".." are refused:
 * encodeURIComponent leaves dots alone and the URL parser drops or climbs such segments,
 * so the call would reach another route than the one named (a link "#/browse?bucket=.."
 * listed /v1/objects, "." /v1/buckets/objects).
 */
export function path(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    const value = String(params[name]);
    if (value === "." || value === "..") {
      throw new ApiError(0, "InvalidName", `“${value}” is not a valid name`);
    }
    return encodeURIComponent(value);
  });
}

export function withQuery(url, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error && typeof body.error === "object" ? body.error : {};
  return new ApiError(
    response.status,
    error.code || `HTTP${response.status}`,
    error.message || `The gateway answered ${response.status}`,
    error.details || {},
  );
}

function authHeaders() {
  return credential ? { Authorization: `Bearer ${credential}` } : {};
}

/** fetch with the credential; one retry after a successful session refresh on 401. */
async function send(url, init, retried = false) {
  const response = await fetch(url, {
    ...init,
    headers: { ...authHeaders(), ...(init.headers || {}) },
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401 && !retried && onUnauthorized && (await onUnauthorized())) {
    return send(url, init, true);
  }
  return response;
}

/** A JSON call: resolves to the parsed body (null for 204), rejects with ApiError. */
export async function api(method, url, { json = undefined, query = undefined } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await send(query ? withQuery(url, query) : url, init);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * PUT a File as an object with XMLHttpRequest, whose upload events give the progress
 * (fetch has none). onProgress(loaded, total). Resolves to the stored object's JSON.
 */
export async function uploadFile(url, file, onProgress) {
  try {
    return await putFile(url, file, onProgress);
  } catch (error) {
    // An access token that expired under a sleeping or throttled tab: renew it once and
    // send the file again, as every other call does (send()).
    if (error.status === 401 && onUnauthorized && (await onUnauthorized())) {
      return putFile(url, file, onProgress);
    }
    throw error;
  }
}

function putFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    if (credential) xhr.setRequestHeader("Authorization", `Bearer ${credential}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 201) {
        onProgress(file.size, file.size);
        resolve(xhr.response);
        return;
      }
      const error = xhr.response && xhr.response.error ? xhr.response.error : {};
      reject(new ApiError(xhr.status, error.code || `HTTP${xhr.status}`, error.message || `Upload failed (${xhr.status})`, error.details || {}));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "NetworkError", "The upload was interrupted")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Aborted", "The upload was cancelled")));
    xhr.send(file);
  });
}

/**
 * Download through the API (the credential is a header, so a plain link cannot carry
 * it): the browser receives the bytes as a Blob (Chromium keeps large ones on disk) and
 * saves them under `filename`.
 *
 * The Blob is retyped application/octet-stream (a slice: no copy). Its blob: URL belongs
 * to the console's origin and ignores the download's CSP sandbox; typed as the object
 * (text/html, image/svg+xml), that URL opened as a page ran the object's scripts on the
 * console's origin, next to the session cookie. As octet-stream it can only be saved.
 */
export async function downloadFile(url, filename) {
  const response = await send(url, { method: "GET" });
  if (!response.ok) throw await errorOf(response);
  const received = await response.blob();
  const blob = received.slice(0, received.size, "application/octet-stream");
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}
