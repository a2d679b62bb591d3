"""A rotated-out secret makes nothing that outlives its grace period.

Before: during a rotation's grace period the OLD secret (``Bearer``) minted keys that never
expired, rotated the key again (a new secret for ever) and got presigned URLs for up to
the default hour or the 7-day maximum: all of it outlived the secret that asked. Now a
login with the old secret is a credential that ends when the grace period does, so the
"outlives your credential" checks and the presign cap apply. SigV4 presigned URLs signed
with the old secret are verified at use time, so they stop at the grace end too. Real
gateway process, REST and S3 over real sockets (boto3 for SigV4).
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, call

GRACE = 600


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def instant(text: str | None) -> datetime:
    assert text is not None, "no expiry: it never ends"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rotated_key(gateway: Gateway, grace: int, bucket: str = "*") -> tuple[dict[str, Any], str]:
    """A new non-expiring admin key and, after rotating it with ``grace`` seconds, the
    rotation's answer and the key's old secret."""
    made = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": f"rot-{uuid.uuid4().hex[:8]}", "scopes": ["admin"]},
        headers=ADMIN,
    )
    assert made.status == 201, made.body
    key = made.json()
    assert key["expires_at"] is None
    reply = call(
        f"{gateway.api_url}/v1/access-keys/{key['id']}/rotate",
        "POST",
        body={"grace_seconds": grace},
        headers=ADMIN,
    )
    assert reply.status == 200, reply.body
    rotation: dict[str, Any] = reply.json()
    return rotation, key["secret"]


def test_old_secret_mints_only_keys_that_end_with_its_grace(gateway: Gateway) -> None:
    rotation, old = rotated_key(gateway, GRACE)
    grace_end = instant(rotation["previous_secret_expires_at"])
    me = call(f"{gateway.api_url}/v1/me", headers=bearer(old))
    assert me.status == 200, me.body
    assert instant(me.json()["expires_at"]) == grace_end
    # omitted expires_at inherits the grace end
    minted = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": "child", "scopes": ["read:objects"]},
        headers=bearer(old),
    )
    assert minted.status == 201, minted.body
    assert instant(minted.json()["expires_at"]) <= grace_end
    # a later expiry is refused
    later = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": "child", "scopes": ["read:objects"], "expires_at": "2099-01-01T00:00:00Z"},
        headers=bearer(old),
    )
    assert later.status == 403, later.body
    assert later.json()["error"]["details"]["field"] == "expires_at"
    # the new secret is the key itself: it still mints keys without an expiry
    fresh = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": "child", "scopes": ["read:objects"]},
        headers=bearer(rotation["secret"]),
    )
    assert fresh.status == 201, fresh.body
    assert fresh.json()["expires_at"] is None


def test_old_secret_cannot_rotate_the_key_again(gateway: Gateway) -> None:
    rotation, old = rotated_key(gateway, GRACE)
    again = call(
        f"{gateway.api_url}/v1/access-keys/{rotation['id']}/rotate",
        "POST",
        body={"grace_seconds": 0},
        headers=bearer(old),
    )
    assert again.status == 403, again.body
    assert again.json()["error"]["details"]["field"] == "expires_at"
    # the new secret still works: nothing was rotated
    assert call(f"{gateway.api_url}/v1/me", headers=bearer(rotation["secret"])).status == 200


def test_old_secret_cannot_make_users(gateway: Gateway) -> None:
    _, old = rotated_key(gateway, GRACE)
    reply = call(
        f"{gateway.api_url}/v1/users",
        "POST",
        body={
            "username": f"u{uuid.uuid4().hex[:8]}",
            "password": "a-long-password-1234",
            "scopes": ["read:objects"],
        },
        headers=bearer(old),
    )
    assert reply.status == 403, reply.body
    assert reply.json()["error"]["details"]["field"] == "expires_at"


def test_presign_with_old_secret_is_capped_at_the_grace_end(gateway: Gateway, bucket: str) -> None:
    rotation, old = rotated_key(gateway, GRACE)
    grace_end = instant(rotation["previous_secret_expires_at"])
    for body in ({"key": "k"}, {"key": "k", "expires_in": 7 * 24 * 3600}):
        reply = call(
            f"{gateway.api_url}/v1/buckets/{bucket}/objects/presign",
            "POST",
            body=body,
            headers=bearer(old),
        )
        assert reply.status == 200, reply.body
        signed = reply.json()
        assert instant(signed["expires_at"]) <= grace_end
        expires = int(signed["url"].split("X-Amz-Expires=")[1].split("&")[0])
        assert expires <= GRACE
    # the key's current secret is not capped by the old one's grace
    reply = call(
        f"{gateway.api_url}/v1/buckets/{bucket}/objects/presign",
        "POST",
        body={"key": "k", "expires_in": 7200},
        headers=bearer(rotation["secret"]),
    )
    assert reply.status == 200, reply.body
    assert instant(reply.json()["expires_at"]) > grace_end


def _get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            status: int = response.status
            return status
    except HTTPError as exc:
        return exc.code


def test_sigv4_presigned_url_of_old_secret_stops_at_the_grace_end(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    rotation, old = rotated_key(gateway, 5)
    grace_end = instant(rotation["previous_secret_expires_at"])
    url = gateway.client(rotation["id"], old, signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=7 * 24 * 3600
    )
    assert _get_status(url) == 200  # within the grace period
    while datetime.now(UTC) <= grace_end:
        time.sleep(0.2)
    assert _get_status(url) == 403
