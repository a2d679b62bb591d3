"""Class: every audit event is found by the filter that names its target.

Object keys may hold control characters (``a\\x01b``, an ESC sequence, DEL), and the
audit log stores an object's target (``bucket/key``) as it is. ``GET
/v1/audit-events?target=`` refused any control character (400), so such an object's
events were found only through ``?bucket=``; a target stored with a NUL (kept as U+FFFD)
was not found by the NUL the caller sent. The ``actor`` and ``target`` filters now take
any text and compare it as the store keeps it. Real gateway process, S3 and REST over
real sockets.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import call


def _events(gateway: Gateway, **query: str) -> list[dict[str, Any]]:
    status, _, raw = call(
        gateway,
        "GET",
        "/v1/audit-events?" + urllib.parse.urlencode(query),
        headers={"Authorization": f"Bearer {gateway.secret_key}"},
    )
    assert status == 200, raw
    events: list[dict[str, Any]] = json.loads(raw)["events"]
    return events


def test_an_object_key_with_control_characters_is_found_by_target(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    for key in ("a\x01b", "\x1b[31mred", "del\x7f", "tab\tkey", "c1\x9bx"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        s3.put_object_acl(Bucket=bucket, Key=key, ACL="private")
        target = f"{bucket}/{key}"
        by_bucket = [e for e in _events(gateway, bucket=bucket) if e["target"]["id"] == target]
        by_target = _events(gateway, target=target)
        assert [e["action"] for e in by_target] == ["object.acl.put"], key
        assert by_target == by_bucket, key


def test_a_nul_in_a_target_filter_finds_what_was_stored_for_it(gateway: Gateway) -> None:
    """A NUL is stored as U+FFFD (PostgreSQL keeps no NUL in text); the filter reads the
    NUL the same way, so the event of a request naming it is found."""
    missing = f"ak_{uuid.uuid4().hex[:8]}\x00x"
    status, _, _ = call(
        gateway,
        "DELETE",
        "/v1/access-keys/" + urllib.parse.quote(missing, safe=""),
        headers={"Authorization": f"Bearer {gateway.secret_key}"},
    )
    assert status in (400, 404)
    found = _events(gateway, target=missing)
    assert [e["target"]["id"] for e in found] == [missing.replace("\x00", "\ufffd")]
