"""How late host B sees what host A changed: the bounds of docs/deploy.md, with real hosts.

Two ``nfyio-gateway serve`` processes over one PostgreSQL and one SeaweedFS
(``tests/services/topology.py``). Credentials are never cached across hosts
(``identity.cache_seconds = 0``, the default): a user disabled, a user's scopes
narrowed, a session revoked, an OAuth client deleted or a key's secret rotated through
host A is refused by host B at its very next request. Bucket settings are cached for
``identity.bucket_cache_seconds`` (1 s here, the default): host B, holding a bucket's
settings from just before, enforces a tightened policy or public access block, and
forgets a deleted bucket's policy, once that bound has passed.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import two_hosts_fixture
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import basic, make_setup
from tests.e2e.oauth_util import call as http
from tests.e2e.rest_util import ADMIN, bearer, call, make_key
from tests.e2e.tenants import public_read

pytestmark = pytest.mark.multihost

CACHE_SECONDS = 1.0
"""``identity.bucket_cache_seconds`` on both hosts (its default)."""
SCOPES = ["read:buckets", "read:objects", "write:objects"]


hosts = two_hosts_fixture(
    "coherence",
    extra_env={
        "NFYIO_IDENTITY_BUCKET_CACHE_SECONDS": str(CACHE_SECONDS),
        "NFYIO_AUTH_THROTTLE_FAILURES": "1000000",
    },
)


def _me(host: Gateway, credential: str) -> int:
    return http(f"{host.api_url}/v1/me", headers=bearer(credential)).status


def _password_login(host: Gateway, setup: Any) -> dict[str, Any]:
    reply = http(
        f"{host.api_url}/oauth/token",
        "POST",
        form={
            "grant_type": "password",
            "username": setup.username,
            "password": setup.password,
            **setup.creds(),
        },
    )
    assert reply.status == 200, reply.body
    return dict(reply.json())


def _rest_put(host: Gateway, credential: str, bucket: str, key: str) -> int:
    request = urllib.request.Request(
        f"{host.api_url}/v1/buckets/{bucket}/objects/content?key={key}",
        data=b"body",
        method="PUT",
        headers={**bearer(credential), "Content-Type": "application/octet-stream"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_credentials_ended_on_one_host_are_refused_by_the_other_at_the_next_request(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    bucket = f"coh-{uuid.uuid4().hex[:12]}"
    host_a.client().create_bucket(Bucket=bucket)

    # A user disabled through A: B refuses the user's token at once.
    setup = make_setup(host_a, user_scopes=SCOPES, client_scopes=SCOPES)
    token = _password_login(host_a, setup)["access_token"]
    assert _me(host_b, token) == 200
    status, _, body = call(
        host_a, "PATCH", f"/v1/users/{setup.user_id}", headers=ADMIN, body={"disabled": True}
    )
    assert status == 200, body
    assert _me(host_b, token) == 401

    # A user's scopes narrowed through A: B's next write with the same token is refused.
    narrowed = make_setup(host_a, user_scopes=SCOPES, client_scopes=SCOPES)
    token = _password_login(host_b, narrowed)["access_token"]
    assert _rest_put(host_b, token, bucket, "before") in {200, 201}
    status, _, body = call(
        host_a,
        "PATCH",
        f"/v1/users/{narrowed.user_id}",
        headers=ADMIN,
        body={"scopes": ["read:buckets", "read:objects"]},
    )
    assert status == 200, body
    assert _rest_put(host_b, token, bucket, "after") == 403

    # A session ended through A (its refresh token revoked): B refuses its access token.
    ended = make_setup(host_a, user_scopes=SCOPES, client_scopes=SCOPES)
    tokens = _password_login(host_b, ended)
    assert _me(host_b, tokens["access_token"]) == 200
    revoked = http(
        f"{host_a.api_url}/oauth/revoke",
        "POST",
        form={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(ended.client_id, ended.client_secret),
    )
    assert revoked.status == 200, revoked.body
    assert _me(host_b, tokens["access_token"]) == 401

    # An OAuth client deleted through A: B refuses its client-credentials token.
    client = call(
        host_a,
        "POST",
        "/v1/clients",
        headers=ADMIN,
        body={"name": "doomed", "scopes": SCOPES, "grant_types": ["client_credentials"]},
    )
    assert client[0] == 201, client[2]
    made = json.loads(client[2])
    granted = http(
        f"{host_b.api_url}/oauth/token",
        "POST",
        form={"grant_type": "client_credentials"},
        headers=basic(made["client_id"], made["client_secret"]),
    )
    assert granted.status == 200, granted.body
    client_token = granted.json()["access_token"]
    assert _me(host_b, client_token) == 200
    status, _, body = call(host_a, "DELETE", f"/v1/clients/{made['client_id']}", headers=ADMIN)
    assert status == 204, body
    assert _me(host_b, client_token) == 401

    # A key's secret rotated through A without grace: B refuses the old secret at once,
    # SigV4 and Bearer, and takes the new one.
    key = make_key(host_a, name="rotated", scopes=SCOPES)
    old_s3 = host_b.client(key["id"], key["secret"])
    old_s3.head_bucket(Bucket=bucket)
    status, _, body = call(host_a, "POST", f"/v1/access-keys/{key['id']}/rotate", headers=ADMIN)
    assert status == 200, body
    new_secret = json.loads(body)["secret"]
    with pytest.raises(ClientError) as refused:
        old_s3.head_bucket(Bucket=bucket)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _me(host_b, key["secret"]) == 401
    host_b.client(key["id"], new_secret).head_bucket(Bucket=bucket)
    assert _me(host_b, new_secret) == 200


def _anonymous_get(host: Gateway, bucket: str, key: str) -> int:
    try:
        with urllib.request.urlopen(f"{host.s3_url}/{bucket}/{key}", timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _past_the_bound() -> None:
    """Wait until every entry another host read before now has expired (the bound, and
    a little more for the hosts' pause between reading and keeping)."""
    time.sleep(CACHE_SECONDS + 0.5)


def test_bucket_settings_changed_on_one_host_apply_on_the_other_within_the_bound(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    s3_a = host_a.client()
    bucket = f"coh-{uuid.uuid4().hex[:12]}"
    s3_a.create_bucket(Bucket=bucket)
    s3_a.put_object(Bucket=bucket, Key="k", Body=b"public for a while")
    s3_a.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 200  # B now holds the public policy

    # The policy deleted through A: B refuses anonymous reads within the bound.
    s3_a.delete_bucket_policy(Bucket=bucket)
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 403

    # Public again, then a public access block through A: the same.
    s3_a.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 200
    s3_a.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 403

    # Deleted and made again by its owner through A: B does not lend the new bucket the
    # old one's settings (public, no block) once the bound has passed.
    s3_a.delete_public_access_block(Bucket=bucket)
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 200
    s3_a.delete_object(Bucket=bucket, Key="k")
    s3_a.delete_bucket(Bucket=bucket)
    s3_a.create_bucket(Bucket=bucket)
    s3_a.put_object(Bucket=bucket, Key="k", Body=b"private now")
    _past_the_bound()
    assert _anonymous_get(host_b, bucket, "k") == 403
