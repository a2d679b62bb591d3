"""The gateway-wide hardened setting (``s3.block_public_access``) and the client address
that ``aws:SourceIp`` sees behind a trusted reverse proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.gateway_process import start_gateway
from tests.e2e.s3util import expect_error, raw_request, unique
from tests.e2e.tenants import ALL_USERS, anonymous_get, new_tenant, public_read

HARDENED = {"NFYIO_S3_BLOCK_PUBLIC_ACCESS": "true"}


def test_the_hardened_setting_blocks_public_content_whatever_the_buckets_say(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    gateway = start_gateway(data)
    try:
        owner, friend = new_tenant(gateway, "owner"), new_tenant(gateway, "friend")
        s3 = owner.client()
        bucket = unique("hard")
        s3.create_bucket(Bucket=bucket, ACL="public-read")
        s3.put_object(Bucket=bucket, Key="page", Body=b"public", ACL="public-read")
        s3.put_object(
            Bucket=bucket, Key="shared", Body=b"named", GrantRead=f'id="{friend.canonical_id}"'
        )
        assert anonymous_get(gateway, f"/{bucket}/page").status == 200
    finally:
        gateway.stop()
    gateway = start_gateway(data, extra_env=HARDENED)
    owner.gateway = friend.gateway = gateway  # same accounts, new ports
    try:
        # Public grants set before stop granting (they are kept and read back)...
        assert anonymous_get(gateway, f"/{bucket}/page").status == 403
        assert anonymous_get(gateway, f"/{bucket}?list-type=2").status == 403
        grants = owner.client().get_object_acl(Bucket=bucket, Key="page")["Grants"]
        assert any(g["Grantee"].get("URI") == ALL_USERS for g in grants), grants
        # ...no request can make anything public...
        s3 = owner.client()
        expect_error("AccessDenied", 403, s3.create_bucket, Bucket=unique("pub"), ACL="public-read")
        expect_error(
            "AccessDenied", 403, s3.put_object, Bucket=bucket, Key="p", Body=b"", ACL="public-read"
        )
        expect_error("AccessDenied", 403, s3.put_bucket_acl, Bucket=bucket, ACL="public-read-write")
        public = public_read(bucket)
        expect_error("AccessDenied", 403, s3.put_bucket_policy, Bucket=bucket, Policy=public)
        # ...even when the bucket's own block says otherwise...
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": False,
                "IgnorePublicAcls": False,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
        )
        assert anonymous_get(gateway, f"/{bucket}/page").status == 403
        # ...while grants to named accounts keep working.
        assert friend.client().get_object(Bucket=bucket, Key="shared")["Body"].read() == b"named"
        assert s3.get_object(Bucket=bucket, Key="page")["Body"].read() == b"public"
    finally:
        gateway.stop()


@pytest.mark.parametrize("trusted", [True, False])
def test_source_ip_behind_a_proxy(tmp_path: Path, trusted: bool) -> None:
    env = {"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"} if trusted else {}
    gateway = start_gateway(tmp_path / "data", extra_env=env)
    try:
        owner = new_tenant(gateway, "proxied")
        s3 = owner.client()
        bucket = unique("ip")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"office only")
        s3.put_bucket_policy(
            Bucket=bucket,
            Policy=public_read(bucket, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        )

        def fetch(forwarded: str | None) -> int:
            headers = {"Host": f"127.0.0.1:{gateway.s3_port}"}
            if forwarded is not None:
                headers["X-Forwarded-For"] = forwarded
            return raw_request(gateway, "GET", f"/{bucket}/k", headers=headers).status

        # The proxy appends the address it saw: only the last entry is evidence.
        assert fetch("198.51.100.7, 203.0.113.9") == (200 if trusted else 403)
        assert fetch("203.0.113.9, 198.51.100.7") == 403
        assert fetch(None) == 403  # the peer is 127.0.0.1
    finally:
        gateway.stop()
