"""Class: a ``/v1`` request body is taken exactly as the client meant it, or refused with a
JSON 4xx: never a 500, never another reading of it than the client's.

- An escaped unpaired surrogate (``"\\ud800"``) parses as a Python string no UTF-8
  encoder accepts: a password reached scrypt, an e-mail the state store and a presigned
  key the length check, each a 500. Now 400 ``ValidationError`` naming the field.
- A member named twice (``{"name": "a", "name": "b"}``): this server took the last one,
  a proxy or a reviewer's tool may take the first. Now 400 ``InvalidRequest``.
- ``Content-Encoding``: aiohttp decompressed request bodies, so a corrupt gzip body was a
  500, ``br`` a text/plain 400 before any middleware, and a gzip upload a 400 claiming the
  body was short. The listener no longer decompresses; ``/v1`` refuses an encoded body with
  a JSON 415 and stores nothing.
- A client that goes away mid-upload is the client gone (access log ``status=499``), not
  an internal error logged with a traceback.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json

JSON = {**ADMIN, "Content-Type": "application/json"}


def send(
    gateway: Gateway, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """``body`` exactly as given (http.client adds only Host and Content-Length)."""
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json"), raw
        return response.status, json.loads(raw) if raw else {}
    finally:
        conn.close()


def error(reply: dict[str, Any]) -> dict[str, Any]:
    assert set(reply) == {"error"}
    found: dict[str, Any] = reply["error"]
    assert set(found) == {"code", "message", "details"}
    return found


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/users",
            '{"username": "u%s", "password": "12345678\\ud800", "scopes": ["read:objects"]}',
            "password",
        ),
        ("/v1/accounts", '{"name": "n%s", "email": "a\\udc00@example.com"}', "email"),
        ("/v1/access-keys", '{"name": "k%s\\ud800", "scopes": ["read:objects"]}', "name"),
        (
            "/v1/access-keys",
            '{"name": "k%s", "scopes": ["read:objects"], "buckets": ["a\\ud800"]}',
            "buckets",
        ),
        (
            "/v1/access-keys",
            '{"name": "k%s", "scopes": ["read:objects"],'
            ' "rate_limit": {"requests_per_minute": 5, "\\ud800": 1}}',
            "rate_limit",
        ),
    ],
)
def test_an_unpaired_surrogate_is_a_validation_error(
    gateway: Gateway, path: str, body: str, field: str
) -> None:
    status, reply = send(gateway, "POST", path, (body % uuid.uuid4().hex[:8]).encode(), JSON)
    assert status == 400, reply
    assert error(reply)["code"] == "ValidationError"
    assert error(reply)["details"] == {"field": field}


def test_an_unknown_member_named_by_an_unpaired_surrogate_is_named_as_text(
    gateway: Gateway,
) -> None:
    """details.field names the member as a query parameter's name is read (U+FFFD for
    each byte), so the answer is Unicode text a strict JSON parser takes."""
    body = b'{"name": "k", "scopes": ["read:objects"], "\\ud800": 1}'
    status, reply = send(gateway, "POST", "/v1/access-keys", body, JSON)
    assert (status, error(reply)["code"]) == (400, "ValidationError"), reply
    assert error(reply)["details"] == {"field": "\ufffd" * 3}
    json.dumps(reply, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_body_in_another_encoding_than_utf8_is_refused(gateway: Gateway, encoding: str) -> None:
    """RFC 8259 8.1: JSON between systems is UTF-8. Python's parser took UTF-16 and
    UTF-32 (with or without a byte order mark) and minted the key a UTF-8 reader of the
    body (a proxy rule, a log) could not see."""
    name = f"k{uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name, "scopes": ["admin"]}).encode(encoding)
    status, reply = send(gateway, "POST", "/v1/access-keys", body, JSON)
    assert (status, error(reply)["code"]) == (400, "InvalidRequest"), reply
    listed = api_json(gateway, "GET", "/v1/access-keys?limit=1000")["access_keys"]
    assert name not in {key["name"] for key in listed}


def test_a_utf8_byte_order_mark_is_ignored(gateway: Gateway) -> None:
    body = json.dumps({"name": "bom", "scopes": ["read:buckets"]}).encode("utf-8-sig")
    status, reply = send(gateway, "POST", "/v1/access-keys", body, JSON)
    assert status == 201 and reply["name"] == "bom", reply


def test_an_unpaired_surrogate_in_a_presigned_key_is_a_validation_error(
    gateway: Gateway, bucket: str
) -> None:
    path = f"/v1/buckets/{bucket}/objects/presign"
    status, reply = send(gateway, "POST", path, b'{"key": "a\\ud800"}', JSON)
    assert (status, error(reply)["details"]) == (400, {"field": "key"})
    # a surrogate pair is one character, and fine
    status, reply = send(gateway, "POST", path, b'{"key": "\\ud83d\\ude00"}', JSON)
    assert status == 200 and "%F0%9F%98%80" in reply["url"], reply


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "{p}-a", "name": "{p}-b"}',
        '{"name": "{p}-a", "versioning": false, "versioning": true}',
    ],
)
def test_a_member_named_twice_is_refused(gateway: Gateway, body: str) -> None:
    prefix = f"dup-{uuid.uuid4().hex[:10]}"
    status, reply = send(gateway, "POST", "/v1/buckets", body.replace("{p}", prefix).encode(), JSON)
    assert (status, error(reply)["code"]) == (400, "InvalidRequest")
    names = [b["name"] for b in api_json(gateway, "GET", "/v1/buckets?limit=1000")["buckets"]]
    assert not [name for name in names if name.startswith(prefix)]


def test_a_member_named_twice_inside_a_member_is_refused(gateway: Gateway) -> None:
    body = (
        b'{"name": "dup", "scopes": ["read:objects"],'
        b' "rate_limit": {"requests_per_minute": 1, "requests_per_minute": 1000}}'
    )
    status, reply = send(gateway, "POST", "/v1/access-keys", body, JSON)
    assert (status, error(reply)["code"]) == (400, "InvalidRequest")


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(b'{"name": "never-made"}', mtime=0)),
        ("br", b"\x0b\x02\x80"),
        ("deflate", b"\x00"),
    ],
)
def test_an_encoded_json_body_is_unsupported(gateway: Gateway, encoding: str, body: bytes) -> None:
    headers = {**JSON, "Content-Encoding": encoding}
    status, reply = send(gateway, "POST", "/v1/buckets", body, headers)
    assert status == 415, reply
    assert error(reply) == {
        "code": "UnsupportedMediaType",
        "message": error(reply)["message"],
        "details": {"field": "Content-Encoding"},
    }


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(b"hello " * 1000, mtime=0)),
        ("gzip", b"corrupt"),
        ("br", b"\x0b\x02\x80"),
    ],
)
def test_an_encoded_upload_is_unsupported_and_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str, encoding: str, body: bytes
) -> None:
    path = f"/v1/buckets/{bucket}/objects/content?key=k"
    status, reply = send(gateway, "PUT", path, body, {**ADMIN, "Content-Encoding": encoding})
    assert (status, error(reply)["code"]) == (415, "UnsupportedMediaType")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    # identity is no encoding at all
    status, reply = send(gateway, "PUT", path, b"plain", {**ADMIN, "Content-Encoding": "identity"})
    assert (status, reply["size"]) == (201, 5)


def test_a_client_gone_mid_upload_is_not_an_internal_error(gateway: Gateway, bucket: str) -> None:
    path = f"/v1/buckets/{bucket}/objects/content"
    head = (
        f"PUT {path}?key=cut HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {ADMIN['Authorization']}\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gateway.api_port), timeout=30) as sock:
        sock.sendall(head + b"only part of it")  # then the client leaves
    deadline = time.monotonic() + 120  # a generous bound on a loaded machine, not a speed check
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for line in gateway.log().splitlines() if f"path={path} " in line]
        if lines:
            break
        time.sleep(0.2)
    assert len(lines) == 1 and "status=499" in lines[0], lines
    assert f"internal error on PUT {path}" not in gateway.log()
