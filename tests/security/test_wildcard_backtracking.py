"""Class: a policy's wildcard is matched without backtracking through the value.

Bucket policies match ``Resource`` ARNs and ``StringLike`` values with IAM wildcards. The
whole pattern was one regular expression (each ``*`` a ``.*``), which backtracks through
every way of splitting the value among the stars: an ordinary-looking grant to everyone,
``arn:aws:s3:::bucket/*/*/*/*.png``, met by an anonymous GET of a key of 1,020 slashes,
held a worker's event loop for about two minutes (``s3:prefix`` with a ``StringLike`` of
a few stars and an 8 KB ``prefix``, likewise), every other request on that worker waiting.
Now each run between stars is found at its leftmost place (``gateway.authz.wildcard``):
the answers below come at once, where the old matcher left the client's 30 s socket
timeout to expire.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request


def _allow_everyone(s3: Any, bucket: str, statement: dict[str, Any]) -> None:
    s3.delete_public_access_block(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", **statement}],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_a_resource_of_many_stars_against_a_key_of_many_slashes(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    _allow_everyone(
        s3, bucket, {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*/*/*/*.png"}
    )
    s3.put_object(Bucket=bucket, Key="a/b/c/d/x.png", Body=b"png")
    assert raw_request(gateway, "GET", f"/{bucket}/a/b/c/d/x.png").body == b"png"
    reply = raw_request(gateway, "GET", f"/{bucket}/" + "/" * 1020)
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")


def test_a_string_like_condition_of_many_stars_against_a_long_prefix(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    _allow_everyone(
        s3,
        bucket,
        {
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": "public/*/*/*/*/*.csv"}},
        },
    )
    listed = raw_request(gateway, "GET", f"/{bucket}?list-type=2&prefix=public/a/b/c/d/e.csv")
    assert listed.status == 200, listed.body
    reply = raw_request(gateway, "GET", f"/{bucket}?list-type=2&prefix=public/" + "/" * 7000)
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
