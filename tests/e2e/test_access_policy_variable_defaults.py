"""A bucket policy variable with a default value (``${aws:username, 'guest'}``), against
the real gateway: PutBucketPolicy accepts it (it answered ``MalformedPolicy`` before), a
caller without ``aws:username`` (anonymous) gets the default, and a user its own name;
a malformed default is still ``MalformedPolicy``."""

from __future__ import annotations

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import make_setup
from tests.e2e.s3util import expect_error, raw_request, unique
from tests.e2e.tenants import anonymous_client, anonymous_read, new_tenant, policy


def _home_policy(bucket: str, home: str) -> str:
    return policy(
        {
            "Sid": "Homes",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/home/{home}/*",
        }
    )


@pytest.fixture(scope="module")
def user(gateway: Gateway) -> tuple[str, str]:
    """An OAuth user (of the gateway's own account, so another account than the bucket
    owner's): its name and a Bearer credential for S3."""
    setup = make_setup(gateway, user_scopes=["read:objects"], client_scopes=["read:objects"])
    return setup.username, f"Bearer {setup.login()['access_token']}"


def _as_user(gateway: Gateway, token: str, path: str) -> int:
    headers = {"Host": f"127.0.0.1:{gateway.s3_port}", "Authorization": token}
    return raw_request(gateway, "GET", path, headers=headers).status


def test_anonymous_callers_get_the_default_and_users_their_name(
    gateway: Gateway, user: tuple[str, str]
) -> None:
    name, token = user
    owner = new_tenant(gateway, "vardef")
    s3 = owner.client()
    bucket = unique("vardef")
    s3.create_bucket(Bucket=bucket)
    for who in ("guest", "alice", name):
        s3.put_object(Bucket=bucket, Key=f"home/{who}/x", Body=who.encode())
    s3.put_bucket_policy(Bucket=bucket, Policy=_home_policy(bucket, "${aws:username, 'guest'}"))

    # Anonymous: no aws:username, so the default names the one home it may read.
    assert anonymous_read(gateway, f"/{bucket}/home/guest/x") == (200, b"guest")
    assert anonymous_read(gateway, f"/{bucket}/home/alice/x")[0] == 403
    assert anonymous_read(gateway, f"/{bucket}/home/{name}/x")[0] == 403
    anon = anonymous_client(gateway)
    assert anon.get_object(Bucket=bucket, Key="home/guest/x")["Body"].read() == b"guest"
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="home/alice/x")

    # A user of another account: its own name, not the default.
    assert _as_user(gateway, token, f"/{bucket}/home/{name}/x") == 200
    assert _as_user(gateway, token, f"/{bucket}/home/guest/x") == 403
    assert _as_user(gateway, token, f"/{bucket}/home/alice/x") == 403

    # The stored document reads back as sent.
    assert "${aws:username, 'guest'}" in s3.get_bucket_policy(Bucket=bucket)["Policy"]


def test_a_default_is_literal_and_a_malformed_one_refused(gateway: Gateway) -> None:
    owner = new_tenant(gateway, "vardef")
    s3 = owner.client()
    bucket = unique("vardef")
    s3.create_bucket(Bucket=bucket)
    for key in ("home/a*/x", "home/ab/x", "home/it's/x"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    s3.put_bucket_policy(Bucket=bucket, Policy=_home_policy(bucket, "${aws:username, 'a*'}"))
    anon = anonymous_client(gateway)
    assert anon.get_object(Bucket=bucket, Key="home/a*/x")["Body"].read() == b"1"
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="home/ab/x")
    s3.put_bucket_policy(Bucket=bucket, Policy=_home_policy(bucket, "${aws:username, 'it''s'}"))
    assert anon.get_object(Bucket=bucket, Key="home/it's/x")["Body"].read() == b"1"

    for malformed in (
        "${aws:username, 'guest}",
        "${aws:username, guest}",
        "${aws:username, 'guest' x}",
        "${, 'guest'}",
    ):
        expect_error(
            "MalformedPolicy",
            400,
            s3.put_bucket_policy,
            Bucket=bucket,
            Policy=_home_policy(bucket, malformed),
        )
