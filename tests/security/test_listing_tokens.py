"""Continuation tokens are the gateway's own: a page only continues from a token that
this deployment issued for that very listing.

Before, a token was the base64 of ``v1:<key>``: anyone could write one to start a
listing anywhere, and another bucket's token (or ListBuckets') was read as a position in
this one. Now each is bound to its listing by an HMAC under a subkey of the master key;
anything else answers AWS's ``InvalidArgument``.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

KEYS = ["a", "b", "c", "d", "e"]


def _bucket(s3: Any) -> str:
    name = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    for key in KEYS:
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    return name


def _refused(call: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error
    assert error["Error"]["Code"] == "InvalidArgument", error


def _altered(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 0x01  # the key the page would resume after: "a" becomes "`"
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_only_a_token_issued_for_this_listing_continues_it(s3: Any) -> None:
    bucket, other = _bucket(s3), _bucket(s3)
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    token = first["NextContinuationToken"]
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=token)
    assert [o["Key"] for o in rest["Contents"]] == KEYS[1:]

    foreign = s3.list_objects_v2(Bucket=other, MaxKeys=3)["NextContinuationToken"]
    forged = base64.urlsafe_b64encode(b"v1:c").decode()
    buckets_token = s3.list_buckets(MaxBuckets=1)["ContinuationToken"]
    for bad in (foreign, forged, _altered(token), buckets_token, token[:-2]):
        _refused(s3.list_objects_v2, Bucket=bucket, ContinuationToken=bad)


def test_only_a_token_issued_for_this_account_continues_list_buckets(s3: Any) -> None:
    for _ in range(2):
        _bucket(s3)
    first = s3.list_buckets(MaxBuckets=1)
    token = first["ContinuationToken"]
    second = s3.list_buckets(MaxBuckets=1, ContinuationToken=token)
    assert second["Buckets"][0]["Name"] > first["Buckets"][0]["Name"]

    bucket = _bucket(s3)
    objects_token = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)["NextContinuationToken"]
    forged = base64.urlsafe_b64encode(b"v1:sec-").decode()
    for bad in (forged, _altered(token), objects_token):
        _refused(s3.list_buckets, MaxBuckets=1, ContinuationToken=bad)
