"""Bucket settings cached by the workers of one gateway (``identity.bucket_cache_seconds``)
are never stale: a change made through one worker applies to the next request on every
worker, even with a bound far longer than the test. Each request below opens a new
connection, so the kernel spreads them over both workers (``SO_REUSEPORT``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import anonymous_get, new_tenant, public_read

ROUNDS = 12
"""Fresh connections per check: both workers answer some of them."""


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data: Path = tmp_path_factory.mktemp("settings-cache") / "data"
    gw = start_gateway(
        data,
        extra_env={"NFYIO_IDENTITY_BUCKET_CACHE_SECONDS": "3600"},
        extra_args=["--workers", "2"],
    )
    try:
        yield gw
    finally:
        gw.stop()


def _anonymous_statuses(gw: Gateway, path: str) -> set[int]:
    return {anonymous_get(gw, path).status for _ in range(ROUNDS)}


def test_a_policy_change_applies_on_every_worker_at_once(two_workers: Gateway) -> None:
    gw = two_workers
    s3 = gw.client()
    bucket = unique("cache")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"public now")
    path = f"/{bucket}/k"
    assert _anonymous_statuses(gw, path) == {403}  # every worker has the bucket cached
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=public_read(bucket),
    )
    assert _anonymous_statuses(gw, path) == {200}
    s3.delete_bucket_policy(Bucket=bucket)
    assert _anonymous_statuses(gw, path) == {403}
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=public_read(bucket),
    )
    assert _anonymous_statuses(gw, path) == {200}
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    assert _anonymous_statuses(gw, path) == {403}


def test_a_bucket_made_again_by_another_account_is_theirs_on_every_worker(
    two_workers: Gateway,
) -> None:
    gw = two_workers
    bucket = unique("cache")
    first, second = new_tenant(gw, "first"), new_tenant(gw, "second")
    first.client().create_bucket(Bucket=bucket)
    for i in range(ROUNDS):  # a new client, a new connection: both workers cache it
        first.client().put_object(Bucket=bucket, Key=f"k{i}", Body=b"first")
        expect_error("AccessDenied", 403, second.client().list_objects_v2, Bucket=bucket)
    s3 = first.client()
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(ROUNDS)]})
    s3.delete_bucket(Bucket=bucket)
    second.client().create_bucket(Bucket=bucket)
    for i in range(ROUNDS):
        second.client().put_object(Bucket=bucket, Key=f"k{i}", Body=b"second")
        expect_error(
            "AccessDenied", 403, first.client().put_object, Bucket=bucket, Key="x", Body=b""
        )
