"""Class: a REST listing continues only from a cursor this gateway wrote for that bucket.

``GET /v1/buckets/{name}/objects`` took any ``cursor`` that was the base64 of a key: a
client could start a listing wherever it wrote, and another bucket's cursor was read as
a position in this one (the S3 listener's continuation tokens have refused both since
they were bound with an HMAC). A cursor is now bound to its bucket in the same way
(``gateway/api/cursors.py``); anything else is 400 ``ValidationError`` naming ``cursor``.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN
from tests.e2e.s3util import unique

KEYS = ["a", "b", "c", "d"]


def _list(gateway: Gateway, bucket: str, cursor: str | None = None) -> tuple[int, Any]:
    query = "limit=2" + ("" if cursor is None else f"&cursor={cursor}")
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        conn.request("GET", f"/v1/buckets/{bucket}/objects?{query}", headers=ADMIN)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def buckets(gateway: Gateway) -> tuple[str, str]:
    s3 = gateway.client()
    names = unique("cursor-a"), unique("cursor-b")
    for name in names:
        s3.create_bucket(Bucket=name)
        for key in KEYS:
            s3.put_object(Bucket=name, Key=key, Body=b"x")
    return names


def test_a_cursor_continues_its_own_listing(gateway: Gateway, buckets: tuple[str, str]) -> None:
    status, first = _list(gateway, buckets[0])
    assert status == 200, first
    status, second = _list(gateway, buckets[0], first["next_cursor"])
    assert status == 200, second
    keys = [o["key"] for o in first["objects"] + second["objects"]]
    assert (keys, second["next_cursor"]) == (KEYS, None)


def _forged(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _altered(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-1] ^= 0x01  # resume after "a" becomes after "`"
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize("kind", ["forged", "altered", "other-bucket"])
def test_any_other_cursor_is_refused(gateway: Gateway, buckets: tuple[str, str], kind: str) -> None:
    issued = _list(gateway, buckets[1])[1]["next_cursor"]
    cursor = {
        "forged": _forged("b"),
        "altered": _altered(issued),
        "other-bucket": issued,
    }[kind]
    status, answer = _list(gateway, buckets[0], cursor)
    assert (status, answer["error"]["code"]) == (400, "ValidationError"), answer
    assert answer["error"]["details"]["field"] == "cursor"
