"""Configurations no bucket can hold, in-process: every read and S3's DELETE answer "not
configured" exactly as S3 does for a bucket without one; so does the empty PUT that is S3's
way to turn logging and notifications off; every other write stays 501; a missing bucket
is NoSuchBucket whatever the subresource (gateway/s3/unconfigured.py)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient

from gateway.s3.operations import UNCONFIGURABLE
from tests.gateway.s3.conftest import ROOT, error_code, make_bucket

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

# subresource -> (status of GET, root element or error code): AWS's answers for a bucket
# that never had the configuration.
READS: dict[str, tuple[int, str]] = {
    "accelerate": (200, "AccelerateConfiguration"),
    "logging": (200, "BucketLoggingStatus"),
    "notification": (200, "NotificationConfiguration"),
    "analytics": (200, "ListBucketAnalyticsConfigurationResult"),
    "metrics": (200, "ListMetricsConfigurationsResult"),
    "inventory": (200, "ListInventoryConfigurationsResult"),
    "intelligent-tiering": (200, "ListBucketIntelligentTieringConfigurationsOutput"),
    "replication": (404, "ReplicationConfigurationNotFoundError"),
    "website": (404, "NoSuchWebsiteConfiguration"),
}
LISTS = ("analytics", "metrics", "inventory", "intelligent-tiering")
DELETED = ("replication", "website")
NO_DELETE = ("accelerate", "logging", "notification")
CLEARED = {"logging": "BucketLoggingStatus", "notification": "NotificationConfiguration"}
"""Configurations S3 turns off with a PUT of the empty document: its root."""
CONFIGURING = {
    "logging": b"<LoggingEnabled><TargetBucket>logs</TargetBucket>"
    b"<TargetPrefix>a/</TargetPrefix></LoggingEnabled>",
    "notification": b"<EventBridgeConfiguration/>",
}
"""A child of each that asks for something (EventBridge takes an empty element)."""
STILL_501 = ("metadataTable", "session")


def test_the_table_is_the_one_these_tests_pin() -> None:
    assert set(UNCONFIGURABLE) == set(READS)


@pytest.mark.parametrize("sub", list(READS))
async def test_read_answers_not_configured(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    status, name = READS[sub]
    response = await s3.get(f"/{bucket}?{sub}", headers=ROOT)
    root = ElementTree.fromstring(await response.read())
    assert response.status == status
    if status == 404:
        assert (root.findtext("Code"), root.findtext("BucketName")) == (name, bucket)
    else:
        assert root.tag == f"{NS}{name}"
        children = [(child.tag, child.text) for child in root]
        assert children == ([(f"{NS}IsTruncated", "false")] if sub in LISTS else [])
    # S3 has no HEAD form of a subresource: 405 naming what the resource takes.
    head = await s3.head(f"/{bucket}?{sub}", headers=ROOT)
    assert head.status == 405 and head.headers["x-amz-error-code"] == "MethodNotAllowed"
    assert head.headers["Allow"] == (
        "GET, PUT" if sub in CLEARED else "DELETE, GET" if sub in (*DELETED, *LISTS) else "GET"
    )
    assert await head.read() == b""


@pytest.mark.parametrize("sub", LISTS)
async def test_configurations_by_id(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    named = await s3.get(f"/{bucket}?{sub}&id=report-1", headers=ROOT)
    assert await error_code(named, 404) == "NoSuchConfiguration"
    head = await s3.head(f"/{bucket}?{sub}&id=report-1", headers=ROOT)
    assert head.status == 405 and head.headers["Allow"] == "DELETE, GET"
    # An empty id is no id: the list.
    empty = await s3.get(f"/{bucket}?{sub}&id=", headers=ROOT)
    assert empty.status == 200
    # The token sent comes back; the list is still empty and complete.
    paged = await s3.get(f"/{bucket}?{sub}&continuation-token=abc", headers=ROOT)
    root = ElementTree.fromstring(await paged.read())
    assert root.findtext(f"{NS}ContinuationToken") == "abc"
    assert root.findtext(f"{NS}IsTruncated") == "false"
    deleted = await s3.delete(f"/{bucket}?{sub}&id=report-1", headers=ROOT)
    assert await error_code(deleted, 404) == "NoSuchConfiguration"
    for query in (sub, f"{sub}&id="):
        no_id = await s3.delete(f"/{bucket}?{query}", headers=ROOT)
        assert await error_code(no_id, 400) == "InvalidArgument"


@pytest.mark.parametrize("sub", DELETED)
async def test_delete_deletes_nothing(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    response = await s3.delete(f"/{bucket}?{sub}", headers=ROOT)
    assert response.status == 204
    assert (await s3.head(f"/{bucket}", headers=ROOT)).status == 200
    assert (await s3.get(f"/{bucket}?{sub}", headers=ROOT)).status == 404


@pytest.mark.parametrize("sub", NO_DELETE)
async def test_delete_s3_does_not_have_stays_501(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    response = await s3.delete(f"/{bucket}?{sub}", headers=ROOT)
    assert await error_code(response, 501) == "NotImplemented"


@pytest.mark.parametrize("sub", [*READS, *STILL_501])
async def test_writes_stay_not_implemented(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    for method in ("PUT", "POST"):
        body = b"<Configuration/>"
        if method == "PUT" and sub in CLEARED:  # only the empty document is accepted
            body = f"<{CLEARED[sub]}>".encode() + CONFIGURING[sub] + f"</{CLEARED[sub]}>".encode()
        response = await s3.request(method, f"/{bucket}?{sub}&id=x", data=body, headers=ROOT)
        assert await error_code(response, 501) == "NotImplemented"
    assert (await s3.head(f"/{bucket}", headers=ROOT)).status == 200


@pytest.mark.parametrize("sub", list(CLEARED))
async def test_the_empty_document_turns_off_what_is_off(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    root = CLEARED[sub]
    for body in (
        f'<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
        f"<{root}>\n  <!-- nothing -->\n</{root}>",
    ):
        response = await s3.put(f"/{bucket}?{sub}", data=body.encode(), headers=ROOT)
        assert response.status == 200, await response.read()
        assert await response.read() == b""
    read = await s3.get(f"/{bucket}?{sub}", headers=ROOT)
    document = ElementTree.fromstring(await read.read())
    assert (document.tag, list(document)) == (f"{NS}{root}", [])
    for other in (b"<Configuration/>", b"", b"<" + root.encode()):
        refused = await s3.put(f"/{bucket}?{sub}", data=other, headers=ROOT)
        assert refused.status == 400, other
    empty = f"<{root}/>".encode()
    absent = await s3.put(f"/absent-bucket?{sub}", data=empty, headers=ROOT)
    assert await error_code(absent, 404) == "NoSuchBucket"
    anonymous = await s3.put(f"/{bucket}?{sub}", data=empty)
    assert await error_code(anonymous, 403) == "AccessDenied"


@pytest.mark.parametrize("sub", STILL_501)
async def test_unsupported_reads_stay_not_implemented(s3: TestClient[Any, Any], sub: str) -> None:
    bucket = await make_bucket(s3)
    response = await s3.get(f"/{bucket}?{sub}", headers=ROOT)
    assert await error_code(response, 501) == "NotImplemented"


@pytest.mark.parametrize(
    ("method", "query"),
    [("GET", sub) for sub in READS]
    + [("GET", f"{sub}&id=x") for sub in LISTS]
    + [("DELETE", sub) for sub in DELETED]
    + [("DELETE", f"{sub}&id=x") for sub in LISTS],
)
async def test_missing_bucket_is_no_such_bucket(
    s3: TestClient[Any, Any], method: str, query: str
) -> None:
    response = await s3.request(method, f"/absent-bucket?{query}", headers=ROOT)
    assert await error_code(response, 404) == "NoSuchBucket"


async def test_reads_need_a_caller(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    for sub in READS:
        assert await error_code(await s3.get(f"/{bucket}?{sub}"), 403) == "AccessDenied"
