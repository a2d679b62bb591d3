// Browser side of the upload example: every request to the gateway is a cross-origin
// request, allowed by the bucket's CORS configuration (server.py sets it).
"use strict";

function show(id, value) {
  document.getElementById(id).textContent = JSON.stringify(value, null, 2);
}

async function sign(name) {
  const reply = await fetch("/sign?name=" + encodeURIComponent(name));
  if (!reply.ok) throw new Error("signing failed: " + reply.status);
  return reply.json();
}

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a), y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// 1. Presigned PUT: preflighted (PUT is not a simple method), then the upload; the page
// reads ETag and x-amz-version-id because the CORS rule exposes them. Then it downloads
// the object again and compares.
async function uploadWithPut() {
  const file = document.getElementById("picker").files[0];
  if (!file) return show("put-result", {error: "choose a file first"});
  try {
    const signed = await sign(file.name);
    const put = await fetch(signed.put_url, {
      method: "PUT",
      body: file,
      headers: {"Content-Type": file.type || "application/octet-stream"},
    });
    const result = {
      status: put.status,
      etag: put.headers.get("ETag"),
      versionId: put.headers.get("x-amz-version-id"),
      requestId: put.headers.get("x-amz-request-id"),
      key: signed.key,
    };
    if (put.ok) {
      const back = await fetch(signed.get_url);
      result.downloadStatus = back.status;
      result.sameBytes = sameBytes(await back.arrayBuffer(), await file.arrayBuffer());
    }
    show("put-result", result);
  } catch (error) {
    show("put-result", {error: String(error)});
  }
}

// 2. HTML form POST: hidden fields before the file input (the file must be the last
// field), the form's action is the bucket URL.
async function prepareForm() {
  const input = document.getElementById("form-file");
  const form = document.getElementById("form");
  const file = input.files[0];
  const signed = await sign(file ? file.name : "file.bin");
  form.action = signed.form.url;
  form.querySelectorAll("input[type=hidden]").forEach((old) => old.remove());
  for (const [name, value] of Object.entries(signed.form.fields)) {
    const hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = name;
    hidden.value = value;
    form.insertBefore(hidden, input);
  }
  document.getElementById("submit").disabled = false;
  form.dataset.ready = "true";
}

// 3. The same kind of form sent with fetch: a CORS "simple" request (multipart/form-data),
// whose answer the page may read only because a CORS rule matches.
async function uploadWithPost() {
  const file = document.getElementById("picker").files[0];
  if (!file) return show("post-result", {error: "choose a file first"});
  try {
    const signed = await sign(file.name);
    const data = new FormData();
    for (const [name, value] of Object.entries(signed.fetch_form.fields)) data.append(name, value);
    data.append("file", file);  // last
    const reply = await fetch(signed.fetch_form.url, {method: "POST", body: data});
    show("post-result", {
      status: reply.status,
      etag: reply.headers.get("ETag"),
      versionId: reply.headers.get("x-amz-version-id"),
      body: await reply.text(),
    });
  } catch (error) {
    show("post-result", {error: String(error)});
  }
}

function showRedirect() {
  const query = new URLSearchParams(window.location.search);
  show("done", {bucket: query.get("bucket"), key: query.get("key"), etag: query.get("etag")});
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.getElementById("done")) return showRedirect();
  document.getElementById("put").addEventListener("click", uploadWithPut);
  document.getElementById("prepare").addEventListener("click", prepareForm);
  document.getElementById("post").addEventListener("click", uploadWithPost);
});
