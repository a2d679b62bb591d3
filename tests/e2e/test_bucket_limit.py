"""How many buckets one account may own: ``[s3] max_buckets_per_account``.

AWS gives an account 10,000 buckets by default and answers one more with 400
``TooManyBuckets``; without a limit one key with ``write:buckets`` could fill the state
store and the data directory with empty buckets. Here with a limit of 3, through boto3
and ``POST /v1/buckets`` (409 ``Conflict``); the count is the state store's, so it holds
across workers and hosts (tests/e2e/test_multihost.py) and under racing creations.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import api_json, bearer
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import new_tenant

LIMIT = 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_gateway(
        Path(tmp_path_factory.mktemp("gw-bucket-limit")) / "data",
        extra_env={"NFYIO_S3_MAX_BUCKETS_PER_ACCOUNT": str(LIMIT), "NFYIO_WORKERS": "2"},
    )
    yield running
    running.stop()


def _name() -> str:
    return f"lim-{uuid.uuid4().hex[:12]}"


def test_the_account_past_its_limit_gets_too_many_buckets(limited: Gateway) -> None:
    tenant = new_tenant(limited)
    s3 = tenant.client()
    names = [_name() for _ in range(LIMIT)]
    for name in names:
        s3.create_bucket(Bucket=name)
    refused = _name()
    error = expect_error("TooManyBuckets", 400, s3.create_bucket, Bucket=refused)
    assert "more than 3 buckets" in error.response["Error"]["Message"]
    assert refused not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    expect_error("404", 404, s3.head_bucket, Bucket=refused)  # a HEAD has no body
    # Creating a bucket it owns already is still that answer, not the limit's.
    expect_error("BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket=names[0])
    # The REST API counts the same buckets.
    reply = api_json(
        limited,
        "POST",
        "/v1/buckets",
        headers=bearer(tenant.secret),
        body={"name": _name()},
        expect=409,
    )
    assert reply["error"]["code"] == "Conflict"
    # Another account is not held back by this one's buckets.
    other = new_tenant(limited).client()
    other.create_bucket(Bucket=_name())
    # Deleting one makes room for one.
    s3.delete_bucket(Bucket=names[0])
    s3.create_bucket(Bucket=refused)
    expect_error("TooManyBuckets", 400, s3.create_bucket, Bucket=_name())


def test_racing_creations_stop_at_the_limit(limited: Gateway) -> None:
    """Twelve creations at once over two workers: exactly the limit succeeds."""
    s3 = new_tenant(limited).client()

    def create(name: str) -> str:
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "created"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(create, [_name() for _ in range(12)]))
    assert sorted(outcomes) == ["TooManyBuckets"] * (12 - LIMIT) + ["created"] * LIMIT
    assert len(s3.list_buckets()["Buckets"]) == LIMIT


def test_the_limit_is_checked_at_startup(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="max_buckets_per_account must be from 1"):
        start_gateway(tmp_path / "data", extra_env={"NFYIO_S3_MAX_BUCKETS_PER_ACCOUNT": "0"})
