"""Class: bucket-policy conditions on headers the caller chooses (``aws:Referer``,
``aws:UserAgent``).

PutBucketPolicy refused both keys, so the most common public-bucket policy there is, hot-link
protection (``Allow`` ``*`` ``s3:GetObject`` when ``aws:Referer`` is the site's own pages),
could not be set at all. Each key now reads the HTTP request's own header, on every action,
on the S3 listener (POST forms included: their ``S3Request.headers`` are the form's fields,
the browser's ``Referer`` is a header) and on ``/v1``; absent without the header. AWS warns
that the caller sets both: they narrow what a well-behaved browser fetches, they pin no one,
so a policy allowing ``*`` under them alone stays public (BlockPublicPolicy refuses it,
RestrictPublicBuckets closes it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form, presigned_post
from tests.e2e.rest_util import ADMIN, call
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import Tenant, bucket_with_object, new_tenant
from tests.security.rawhttp import exchange

SITE = "https://www.example.com/*"
HOT_LINK = {"StringLike": {"aws:Referer": [SITE, "https://example.com/*"]}}


@pytest.fixture(scope="module")
def owner(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "referer")


def _policy(bucket: str, *statements: dict[str, Any]) -> str:
    full = [
        {"Principal": "*", "Resource": f"arn:aws:s3:::{bucket}/*", **statement}
        for statement in statements
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": full})


def _anonymous_get(gateway: Gateway, bucket: str, *headers: tuple[str, str]) -> int:
    return exchange(gateway, "GET", f"/{bucket}/k", headers).status


def test_hot_link_protection_lets_in_only_the_named_site(gateway: Gateway, owner: Tenant) -> None:
    s3, bucket = bucket_with_object(owner, "ref", b"picture")
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Condition": HOT_LINK}
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, allow))
    assert _anonymous_get(gateway, bucket, ("Referer", "https://www.example.com/gallery")) == 200
    assert _anonymous_get(gateway, bucket, ("Referer", "https://example.com/")) == 200
    assert _anonymous_get(gateway, bucket, ("Referer", "https://evil.example/")) == 403
    assert _anonymous_get(gateway, bucket, ("Referer", "http://www.example.com/")) == 403
    assert _anonymous_get(gateway, bucket) == 403  # absent: StringLike is false
    assert _anonymous_get(gateway, bucket, ("User-Agent", "https://example.com/")) == 403


def test_a_user_agent_deny_applies_and_absent_is_not_a_match(
    gateway: Gateway, owner: Tenant
) -> None:
    s3, bucket = bucket_with_object(owner, "ref", b"picture")
    allow = {"Effect": "Allow", "Action": "s3:GetObject"}
    deny = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Condition": {"StringLike": {"aws:UserAgent": "BadBot/*"}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, allow, deny))
    assert _anonymous_get(gateway, bucket, ("User-Agent", "BadBot/2.1")) == 403
    assert _anonymous_get(gateway, bucket, ("User-Agent", "curl/8.5.0")) == 200
    assert _anonymous_get(gateway, bucket) == 200
    assert _anonymous_get(gateway, bucket, ("Referer", "BadBot/2.1")) == 200


def test_the_keys_hold_on_the_rest_api(gateway: Gateway, s3: Any, bucket: str) -> None:
    """A Deny on the header binds the owner's own Bearer key on ``/v1`` as on S3."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    deny = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Condition": {"StringNotLike": {"aws:Referer": SITE}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, deny))
    path = f"/v1/buckets/{bucket}/objects/content?key=k"
    own_site = {**ADMIN, "Referer": "https://www.example.com/a"}
    assert call(gateway, "GET", path, headers=own_site)[0] == 200
    status, _, body = call(gateway, "GET", path, headers={**ADMIN, "Referer": "https://x.test/"})
    assert status == 403 and json.loads(body)["error"]["code"] == "AccessDenied"
    assert call(gateway, "GET", path, headers=ADMIN)[0] == 403


def test_a_post_form_is_judged_by_the_browser_s_referer(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """A form's request headers are made of its fields; ``aws:Referer`` is the HTTP
    header the browser sent with it."""
    deny = {
        "Effect": "Deny",
        "Action": "s3:PutObject",
        "Condition": {"StringNotLike": {"aws:Referer": SITE}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, deny))
    fields = presigned_post(s3, bucket, "up/${filename}")
    from_site = {"Referer": "https://www.example.com/upload"}
    assert post_form(gateway, bucket, fields, b"a", headers=from_site).status == 204
    elsewhere = {"Referer": "https://x.test/"}
    assert post_form(gateway, bucket, fields, b"b", headers=elsewhere).status == 403
    assert post_form(gateway, bucket, fields, b"c").status == 403
    assert s3.get_object(Bucket=bucket, Key="up/upload.bin")["Body"].read() == b"a"


@pytest.mark.parametrize(
    "condition",
    [HOT_LINK, {"StringEquals": {"aws:UserAgent": "Mozilla/5.0"}}],
    ids=["referer", "user-agent"],
)
def test_caller_headers_pin_no_one(
    gateway: Gateway, owner: Tenant, condition: dict[str, Any]
) -> None:
    s3, bucket = bucket_with_object(owner, "ref", b"picture", BlockPublicPolicy=True)
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Condition": condition}
    policy = _policy(bucket, allow)
    expect_error("AccessDenied", 403, s3.put_bucket_policy, Bucket=bucket, Policy=policy)
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True}
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    sent = (("Referer", "https://www.example.com/a"), ("User-Agent", "Mozilla/5.0"))
    assert _anonymous_get(gateway, bucket, *sent) == 403
    s3.delete_public_access_block(Bucket=bucket)
    assert _anonymous_get(gateway, bucket, *sent) == 200
