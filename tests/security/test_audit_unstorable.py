"""Audit events holding text the state store cannot keep.

The class: a target is text a client chose (``bucket/key`` of an S3 request, an id from a
``/v1`` path), recorded for refused attempts too. PostgreSQL refuses NUL in ``text`` and
an index entry over about 2.7 KB; the recorder writes a worker's events in one
transaction, so one such event failed its batch, was put back, and failed every flush
after it: one request by any authenticated caller (a read-only key will do) ended that
worker's audit log, silently, for the rest of its life. Events are now made storable
before they are written (``gateway.identity.audit.storable``: NUL becomes U+FFFD, text
over 1,300 bytes is cut and ends with ``…``), the same on both databases.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json, call, make_key


def _events(gateway: Gateway, **query: str) -> list[dict[str, Any]]:
    path = "/v1/audit-events?" + urllib.parse.urlencode(query)
    found: list[dict[str, Any]] = api_json(gateway, "GET", path)["events"]
    return found


@pytest.mark.parametrize("store", ["gateway", "pg_gateway"])
def test_an_unstorable_target_costs_no_event(store: str, request: pytest.FixtureRequest) -> None:
    gateway: Gateway = request.getfixturevalue(store)
    s3: Any = gateway.client()
    bucket = f"unstorable-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a\x00b", Body=b"x")
    try:  # PostgreSQL cannot keep its ACL row (400); SQLite can
        s3.put_object_acl(Bucket=bucket, Key="a\x00b", ACL="public-read")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidArgument"
    long_id = "é" * 2000  # 4,000 bytes: over PostgreSQL's index entry
    status, _, _ = call(
        gateway, "DELETE", "/v1/users/" + urllib.parse.quote(long_id), headers=ADMIN
    )
    assert status == 404
    after = make_key(gateway, scopes=["read:buckets"])

    # The listing writes the worker's pending events first: the batch holding the two
    # events above and the key's creation.
    created = _events(gateway, target=after["id"])
    assert [e["action"] for e in created] == ["access_key.create"]
    acl = _events(gateway, bucket=bucket, action="object.acl.put")
    assert [e["target"]["id"] for e in acl] == [f"{bucket}/a\ufffdb"]
    deleted = [
        e for e in _events(gateway, action="user.delete", limit="20") if e["target"]["id"][0] == "é"
    ]
    assert deleted, "the refused delete is on record"
    target = deleted[0]["target"]["id"]
    assert target.endswith("\u2026") and len(target.encode()) <= 1300
    # What is stored can be asked for.
    assert _events(gateway, target=target)[0]["id"] == deleted[0]["id"]
    assert json.dumps(deleted[0])  # plain JSON, nothing a reader chokes on
