"""Class: a ``/v1`` bucket or object route does what the same key could not do over S3.

The REST routes checked the route's scope, the key's bucket limits and the bucket's
account, and then called the storage backend: the access decision the S3 listener makes
(``gateway.authz.decide``) never ran. A bucket policy's Deny (here AWS's usual "HTTPS
only" statement, and a Deny of ``s3:GetObject`` that a conditional delete must pass too,
with the credential's ``read:objects``) stopped S3 requests and not the same key's REST
ones, and in a bucket holding another account's objects (``ObjectWriter``) the bucket
owner read them through ``/v1`` (S3: AccessDenied), and its REST upload over such an
object kept the other account as the owner, who then read the bucket owner's new bytes
while the bucket owner could not. Each route is now decided as its S3 operation
(``gateway/api/object_access.py``) and an upload records its owner as PutObject does.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, bearer, make_key
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import Tenant, new_tenant


def _policy(bucket: str, statement: dict[str, Any]) -> str:
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Resource": resources, **statement}],
        }
    )


def _send(
    gateway: Gateway, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _error(raw: bytes) -> str:
    code: str = json.loads(raw)["error"]["code"]
    return code


HTTPS_ONLY = {"Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
"""AWS's usual statement; these tests speak plain HTTP."""


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/objects", None),
        ("GET", "/objects/content?key=k", None),
        ("PUT", "/objects/content?key=k", b"replaced"),
        ("PUT", "/objects/content?key=new", b"new"),
        ("DELETE", "/objects/content?key=k", None),
        ("DELETE", "", None),
    ],
    ids=["list", "download", "overwrite", "create", "delete", "delete-bucket"],
)
def test_a_bucket_policy_deny_holds_on_the_rest_routes(
    gateway: Gateway, s3: Any, method: str, path: str, body: bytes | None
) -> None:
    bucket = unique("deny")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, HTTPS_ONLY))
    expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="k")
    status, raw = _send(gateway, method, f"/v1/buckets/{bucket}{path}", ADMIN, body)
    assert (status, _error(raw)) == (403, "AccessDenied"), raw
    s3.delete_bucket_policy(Bucket=bucket)  # the owner's admin may always manage it
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("k", 4)]


def test_a_delete_comparing_an_etag_needs_get_object_too(gateway: Gateway, s3: Any) -> None:
    bucket = unique("etag")
    s3.create_bucket(Bucket=bucket)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["ETag"]
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, {"Action": "s3:GetObject"}))
    url = f"/v1/buckets/{bucket}/objects/content?key=k"
    status, raw = _send(gateway, "DELETE", url, {**ADMIN, "If-Match": etag})
    assert (status, _error(raw)) == (403, "AccessDenied"), raw
    assert [o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [etag]
    status, raw = _send(gateway, "DELETE", url, {**ADMIN, "If-Match": "*"})
    assert status == 204, raw
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.fixture(scope="module")
def tenants(gateway: Gateway) -> tuple[Tenant, Tenant]:
    return new_tenant(gateway, "owner"), new_tenant(gateway, "writer")


def test_another_accounts_object_stays_its_own_through_rest(
    gateway: Gateway, tenants: tuple[Tenant, Tenant]
) -> None:
    owner, writer = tenants
    bucket = unique("writer")
    owner.client().create_bucket(Bucket=bucket)
    owner.client().put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": writer.id},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    owner.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(grant))
    writer.client().put_object(Bucket=bucket, Key="k", Body=b"the writer's")
    expect_error("AccessDenied", 403, owner.client().get_object, Bucket=bucket, Key="k")
    url = f"/v1/buckets/{bucket}/objects/content?key=k"
    status, raw = _send(gateway, "GET", url, owner.headers)
    assert (status, _error(raw)) == (403, "AccessDenied"), raw

    # The bucket owner may overwrite it (PutObject is the bucket owner's): the new
    # object is the bucket owner's, not the previous writer's.
    status, raw = _send(gateway, "PUT", url, owner.headers, b"mine")
    assert status == 201, raw
    got = owner.client().get_object(Bucket=bucket, Key="k")["Body"].read()
    assert got == b"mine"
    expect_error("AccessDenied", 403, writer.client().get_object, Bucket=bucket, Key="k")
    assert _send(gateway, "GET", url, owner.headers) == (200, b"mine")


def test_a_delete_comparing_an_etag_needs_read_objects(gateway: Gateway, s3: Any) -> None:
    bucket = unique("etag-scope")
    s3.create_bucket(Bucket=bucket)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["ETag"]
    made = make_key(gateway, scopes=["delete:objects"])
    url = f"/v1/buckets/{bucket}/objects/content?key=k"
    headers = {**bearer(made["secret"]), "If-Match": etag}
    status, raw = _send(gateway, "DELETE", url, headers)
    assert (status, _error(raw)) == (403, "ScopeRequired"), raw
    assert json.loads(raw)["error"]["details"]["required_scope"] == "read:objects"
    assert [o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [etag]


def _listed(gateway: Gateway, bucket: str, query: str = "") -> dict[str, Any]:
    paged = f"{query}&limit=1000" if query else "?limit=1000"  # the session's every bucket
    status, raw = _send(gateway, "GET", f"/v1/buckets{paged}", ADMIN)
    assert status == 200, raw
    (item,) = [b for b in json.loads(raw)["buckets"] if b["name"] == bucket]
    found: dict[str, Any] = item
    return found


def test_the_bucket_listing_shows_only_what_s3_would_answer(gateway: Gateway, s3: Any) -> None:
    """Versioning is GetBucketVersioning's answer, the counts a listing's (ListBucket):
    refused over S3, they are left out of the bucket's entry (the name is ListBuckets',
    which no bucket policy decides)."""
    bucket = unique("hidden")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"four")
    shown = _listed(gateway, bucket, "?stats=true")
    assert (shown["versioning"], shown["object_count"], shown["size_bytes"]) == ("Enabled", 1, 4)

    deny = {"Action": ["s3:GetBucketVersioning", "s3:ListBucket"]}
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, deny))
    expect_error("AccessDenied", 403, s3.get_bucket_versioning, Bucket=bucket)
    expect_error("AccessDenied", 403, s3.list_objects_v2, Bucket=bucket)
    for query in ("", "?stats=true"):
        hidden = _listed(gateway, bucket, query)
        assert set(hidden) == {"name", "created_at", "region"}, hidden

    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, {"Action": "s3:ListBucket"}))
    partly = _listed(gateway, bucket, "?stats=true")
    assert partly["versioning"] == "Enabled"
    assert "object_count" not in partly and "size_bytes" not in partly, partly
    s3.delete_bucket_policy(Bucket=bucket)


@pytest.mark.parametrize("path", ["/objects", "/objects/content?key=k"], ids=["list", "download"])
def test_a_bucket_policy_deny_holds_on_head_too(gateway: Gateway, s3: Any, path: str) -> None:
    """HEAD on a /v1 GET route is decided as the GET: refused alike, nothing disclosed
    (the object's size and ETag are GetObject's)."""
    bucket = unique("deny-head")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, HTTPS_ONLY))
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        conn.request("HEAD", f"/v1/buckets/{bucket}{path}", headers=ADMIN)
        response = conn.getresponse()
        assert response.read() == b""
    finally:
        conn.close()
    assert response.status == 403
    assert response.getheader("ETag") is None
    assert response.getheader("Content-Type") == "application/json; charset=utf-8"
    s3.delete_bucket_policy(Bucket=bucket)


def test_behind_a_trusted_proxy_the_rest_routes_read_its_scheme_as_s3_does(
    tmp_path: Path,
) -> None:
    """``aws:SecureTransport`` on ``/v1`` is the S3 listener's reading of the scheme
    (``gateway.peer.client_scheme``): behind a trusted proxy its ``X-Forwarded-Proto``
    when that is ``http`` or ``https``, else the connection's own (plain HTTP here)."""
    gw = start_gateway(
        tmp_path / "data", extra_env={"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"}
    )
    try:
        s3 = gw.client()
        bucket = unique("proxied")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, HTTPS_ONLY))
        for proto, status in (("https", 200), ("http", 403), ("ftp", 403), (None, 403)):
            headers = dict(ADMIN) if proto is None else {**ADMIN, "X-Forwarded-Proto": proto}
            got, raw = _send(gw, "GET", f"/v1/buckets/{bucket}/objects", headers)
            assert got == status, (proto, raw)
    finally:
        gw.stop()
