"""Read after write on every worker: what one worker of a gateway wrote, the next request
to any worker reads.

Each worker keeps the current-version rows it read (``MetaDB.object``), reused only while
nothing was committed to the metadata database. Here every object is read on fresh
connections first (the kernel spreads them over both workers: ``SO_REUSEPORT``), so each
worker has it cached, then changed through one connection, then read again on fresh
connections: every answer must be the new one. Driven through boto3.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fresh_connections import answers, two_worker_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with two_worker_gateway(tmp_path_factory.mktemp("consistency") / "data") as gw:
        yield gw


def test_overwrites_metadata_tags_and_deletes_show_on_every_worker(two_workers: Gateway) -> None:
    gw = two_workers
    s3 = gw.client()
    bucket = unique("consistency")
    s3.create_bucket(Bucket=bucket)

    def body(c: Any) -> object:
        return c.get_object(Bucket=bucket, Key="k")["Body"].read()

    def head(c: Any) -> object:
        answer = c.head_object(Bucket=bucket, Key="k")
        return answer["ETag"], answer["ContentLength"], answer["Metadata"].get("v")

    def tags(c: Any) -> object:
        return tuple(
            (t["Key"], t["Value"]) for t in c.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
        )

    first = s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"v": "1"})
    assert answers(gw, body) == {b"first"}
    assert answers(gw, head) == {(first["ETag"], 5, "1")}

    second = s3.put_object(Bucket=bucket, Key="k", Body=b"second!", Metadata={"v": "2"})
    assert answers(gw, body) == {b"second!"}
    assert answers(gw, head) == {(second["ETag"], 7, "2")}

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert answers(gw, tags) == {(("t", "1"),)}

    s3.copy_object(
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
        Metadata={"v": "3"},
        MetadataDirective="REPLACE",
    )
    assert answers(gw, head) == {(second["ETag"], 7, "3")}

    s3.delete_object(Bucket=bucket, Key="k")
    assert answers(gw, body) == {"NoSuchKey"}
    assert answers(gw, head) == {"404"}
