"""Class: a JSON document from the client nested past what the parser follows is that
document's 400, never a 500.

Python's ``json`` raises ``RecursionError``, not ``ValueError``, on nesting past the
interpreter's recursion limit (about 1,000 levels: a few KB of ``[``). The POST Object
policy (base64 JSON in a form field, parsed once the form's signature is verified) caught
only ``ValueError``: any key holder's form carrying such a policy answered 500 with a
traceback. The bucket policy (``gateway.authz.policy``) and the REST API's bodies
(``tests/gateway/api/test_keys.py``) caught it already; the bucket policy is kept here
beside the form's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form
from tests.e2e.s3util import expect_error, keys_of

NESTED = "[" * 5000
"""Five times the interpreter's default recursion limit."""


def _signed_form(gw: Gateway, key: str, policy: str) -> dict[str, str]:
    """A SigV4 form (as boto3's ``generate_presigned_post`` signs one) for ``policy``,
    the base64 text whatever its document says."""
    now = datetime.now(UTC)
    day = now.strftime("%Y%m%d")
    signing = ("AWS4" + gw.secret_key).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    return {
        "key": key,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{gw.access_key}/{day}/us-east-1/s3/aws4_request",
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        "policy": policy,
        "x-amz-signature": hmac.new(signing, policy.encode(), hashlib.sha256).hexdigest(),
    }


def test_a_post_policy_nested_past_the_parser_is_an_invalid_policy(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    policy = base64.b64encode(NESTED.encode()).decode()
    reply = post_form(gateway, bucket, _signed_form(gateway, "nested", policy), b"data")
    assert (reply.status, reply.error_code()) == (400, "InvalidPolicyDocument"), reply.body
    assert b"Invalid JSON" in reply.body, reply.body
    assert "nested" not in keys_of(s3, bucket)
    assert "RecursionError" not in gateway.log()


def test_a_bucket_policy_nested_past_the_parser_is_malformed(s3: Any, bucket: str) -> None:
    policy = '{"Version": "2012-10-17", "Statement": ' + NESTED
    expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=bucket, Policy=policy)
