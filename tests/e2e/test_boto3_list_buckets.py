"""ListBuckets' filters and pages (AWS's ``prefix``, ``bucket-region``, ``max-buckets``,
``continuation-token``) through boto3, its paginator and both aws CLIs, on every backend.

Before they were read, a client asking for one region's buckets, or for pages of two,
got every bucket in one answer: a success that was not what it asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign, unique
from tests.e2e.test_awscli import cli_of_version


def _make(s3: Any, prefix: str, count: int) -> list[str]:
    names = sorted(f"{prefix}-{i}" for i in range(count))
    for name in reversed(names):  # created out of order: the listing sorts them
        s3.create_bucket(Bucket=name)
    return names


def _names(answer: dict[str, Any]) -> list[str]:
    return [b["Name"] for b in answer["Buckets"]]


def test_pages_of_max_buckets_follow_the_continuation_token(s3: Any) -> None:
    prefix = unique("lb")
    names = _make(s3, prefix, 5)
    s3.create_bucket(Bucket=f"x{prefix}")  # outside the prefix
    first = s3.list_buckets(Prefix=prefix, MaxBuckets=2)
    assert _names(first) == names[:2]
    assert first["Prefix"] == prefix
    second = s3.list_buckets(
        Prefix=prefix, MaxBuckets=2, ContinuationToken=first["ContinuationToken"]
    )
    assert _names(second) == names[2:4]
    last = s3.list_buckets(
        Prefix=prefix, MaxBuckets=2, ContinuationToken=second["ContinuationToken"]
    )
    assert _names(last) == names[4:]
    assert "ContinuationToken" not in last
    exact = s3.list_buckets(Prefix=prefix, MaxBuckets=5)
    assert _names(exact) == names and "ContinuationToken" not in exact


def test_the_paginator_walks_every_page(s3: Any) -> None:
    prefix = unique("lb")
    names = _make(s3, prefix, 5)
    pages = list(
        s3.get_paginator("list_buckets").paginate(Prefix=prefix, PaginationConfig={"PageSize": 2})
    )
    assert [len(p["Buckets"]) for p in pages] == [2, 2, 1]
    assert [name for page in pages for name in _names(page)] == names


def test_bucket_region_keeps_that_regions_buckets(s3: Any) -> None:
    prefix = unique("lb")
    here = f"{prefix}-a"
    s3.create_bucket(Bucket=here)
    region = next(b for b in s3.list_buckets(Prefix=prefix)["Buckets"])["BucketRegion"]
    assert _names(s3.list_buckets(Prefix=prefix, BucketRegion=region)) == [here]
    assert _names(s3.list_buckets(Prefix=prefix, BucketRegion="ap-southeast-4")) == []


def test_bucket_region_tells_regions_apart(gateway: Gateway) -> None:
    """The filesystem backend keeps each bucket's region (the s3 backend reports its
    store's region for all of them: docs/upstream-backend.md)."""
    s3 = gateway.client()
    prefix = unique("lb")
    s3.create_bucket(Bucket=f"{prefix}-east")
    s3.create_bucket(
        Bucket=f"{prefix}-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert _names(s3.list_buckets(Prefix=prefix, BucketRegion="eu-west-1")) == [f"{prefix}-west"]
    assert _names(s3.list_buckets(Prefix=prefix, BucketRegion="us-east-1")) == [f"{prefix}-east"]
    both = s3.list_buckets(Prefix=prefix)["Buckets"]
    assert {b["Name"]: b["BucketRegion"] for b in both} == {
        f"{prefix}-east": "us-east-1",
        f"{prefix}-west": "eu-west-1",
    }


@pytest.mark.parametrize(
    "query",
    [
        "max-buckets=0",
        "max-buckets=10001",
        "max-buckets=two",
        "max-buckets=",
        "continuation-token=",
        "continuation-token=not-a-token",
        f"continuation-token={'A' * 1028}",
    ],
)
def test_bad_paging_arguments_are_invalid_argument(gateway: Gateway, query: str) -> None:
    path = f"/?{query}"
    response = raw_request(gateway, "GET", path, headers=sign(gateway, "GET", path))
    assert response.status == 400, response.body
    assert b"<Code>InvalidArgument</Code>" in response.body


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_aws_cli_pages_list_buckets(gateway: Gateway, tmp_path: Path, version: str) -> None:
    """The venv's CLI (v1, our botocore) pages ``s3api list-buckets`` (``--page-size``)
    and filters it. Debian's v2 (2.9) predates ListBuckets' parameters: it sends none,
    and gets every bucket in one answer, as before."""
    cli = cli_of_version(gateway, tmp_path, version)
    prefix = unique("lb")
    names = _make(gateway.client(), prefix, 3)
    if version == "v2":
        everything = _names(cli.json("s3api", "list-buckets"))
        assert set(names) <= set(everything) and everything == sorted(everything)
        return
    listed = cli.json("s3api", "list-buckets", "--prefix", prefix, "--page-size", "1")
    assert _names(listed) == names
    one = cli.json("s3api", "list-buckets", "--prefix", prefix, "--max-items", "1")
    assert _names(one) == names[:1] and one["NextToken"]
    region = cli.json("s3api", "list-buckets", "--prefix", prefix, "--bucket-region", "eu-west-1")
    assert _names(region) == []
