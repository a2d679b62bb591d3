"""Class: an element of a request body that S3 acts on must never be silently ignored.

The XML bodies of S3's operations grow new elements (2025-2026: ``BlockedEncryptionTypes``
in a bucket's default encryption, Object Lock event holds in retention documents). A
parser that reads only the elements it knew answers success for a document it did not
apply: a bucket owner who blocked SSE-C went on receiving SSE-C writes, an object "put
under an event hold" could be deleted, and a retention document holding only an event
hold read as one removing the object's retention. Each such element is now applied
(SSE-C blocking: tests/e2e/test_boto3_sse_c_block.py) or refused with 501 naming it,
before anything changes (event holds, here). The first test keeps the class closed:
every element botocore's model can send in the body of an operation the gateway
implements is read by the code, or listed below as ignored on purpose with the reason;
a botocore upgrade that adds one fails here until someone decides.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from gateway.s3.operations import OPERATIONS, UNCONFIGURABLE
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, raw_request, sign, unique
from tests.security.source_graph import read_by

IGNORED = {
    ("CreateBucket", "DataRedundancy"): "inside Location/Bucket, refused with 501 whole",
    ("CreateBucket", "Type"): "inside Location/Bucket, refused with 501 whole",
    ("CreateBucket", "Name"): "inside Location, refused with 501 whole",
    ("PutBucketLifecycleConfiguration", "StorageClass"): "inside Transition and "
    "NoncurrentVersionTransition, refused with 501 whole",
    ("PutObjectRetention", "Years"): "inside EventHoldDuration, refused with 501 whole",
}
"""(operation, element) pairs read nowhere, on purpose (why)."""

EMPTY_ONLY = {entry.cleared_by for entry in UNCONFIGURABLE.values() if entry.cleared_by}
"""Operations that accept only the empty document (PutBucketLogging, PutBucketNotification-
Configuration: S3's way to turn off what no bucket here can hold) and refuse any element
in it with 501 (tests/gateway/s3/test_unconfigured.py)."""

QUALIFIED = {"xsi:type": "{http://www.w3.org/2001/XMLSchema-instance}type"}
"""Namespaced names as the parser (lxml) reads them."""

HANDLED_FAMILIES = ("Checksum",)
"""Element families read by name pattern: every ``Checksum<ALGORITHM>`` of a part is
verified, or the algorithm answered ``InvalidRequest`` naming it."""


def _elements(shape: Shape, seen: frozenset[str] = frozenset()) -> Iterator[str]:
    if shape.type_name == "list":
        yield from _elements(shape.member, seen)
        return
    if shape.type_name != "structure" or shape.name in seen:
        return
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue  # a header or query member: the other accounting tests
        yield member.serialization.get("name", name)
        yield from _elements(member, seen | {shape.name})


def test_every_body_element_botocore_sends_is_accounted_for() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    implemented = {op.name for op in OPERATIONS if op.implemented}
    unread: dict[str, list[str]] = {}
    for name in sorted((implemented - EMPTY_ONLY) & set(model.operation_names)):
        shape = model.operation_model(name).input_shape
        payload = None if shape is None else shape.serialization.get("payload")
        if shape is None or payload is None:
            continue
        root = shape.members[payload]
        if root.type_name != "structure":
            continue  # a body of bytes (PutObject, UploadPart)
        for element in set(_elements(root)):
            if (
                (name, element) in IGNORED
                or element.startswith(HANDLED_FAMILIES)
                or read_by(name, QUALIFIED.get(element, element))
            ):
                continue
            unread.setdefault(element, []).append(name)
    assert unread == {}, (
        "body elements botocore sends that the gateway neither reads nor refuses "
        "nor ignores on purpose (IGNORED here)"
    )


def _locked_bucket(s3: Any) -> str:
    name = unique("sec")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_a_default_event_hold_is_refused_and_changes_nothing(s3: Any) -> None:
    bucket = _locked_bucket(s3)
    before = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    error = expect_error(
        "NotImplemented", 501, s3.put_object_lock_configuration, Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {
                "DefaultRetention": {
                    "Mode": "GOVERNANCE", "Days": 1, "DefaultEventHold": {"Days": 30},
                }
            },
        },
    )  # fmt: skip
    assert error.response["Error"].get("Element") == "DefaultEventHold"
    after = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert after == before


@pytest.mark.parametrize(
    "retention",
    [
        {"EventHold": "ON"},
        {"EventHoldDuration": {"Days": 30}},
        {"EventHold": "OFF"},  # alone: releasing a hold, not removing the retention
        {"Mode": "GOVERNANCE", "EventHold": "ON"},
    ],
    ids=["hold", "duration", "release", "hold-with-mode"],
)
def test_an_event_hold_in_a_retention_is_refused_and_changes_nothing(
    s3: Any, retention: dict[str, Any]
) -> None:
    bucket = _locked_bucket(s3)
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )  # fmt: skip
    if "Mode" in retention:
        retention = {**retention, "RetainUntilDate": until + timedelta(days=1)}
    expect_error(
        "NotImplemented", 501, s3.put_object_retention, Bucket=bucket, Key="k",
        Retention=retention, BypassGovernanceRetention=True,
    )  # fmt: skip
    kept = s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]
    assert kept["Mode"] == "GOVERNANCE" and kept["RetainUntilDate"] == until


def test_a_retention_that_asks_for_no_hold_is_applied(s3: Any) -> None:
    bucket = _locked_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    s3.put_object_retention(
        Bucket=bucket, Key="k",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until, "EventHold": "OFF"},
    )  # fmt: skip
    assert s3.get_object_retention(Bucket=bucket, Key="k")["Retention"] == {
        "Mode": "GOVERNANCE",
        "RetainUntilDate": until,
    }


@pytest.mark.parametrize(
    ("subresource", "document"),
    [
        ("legal-hold", "<LegalHold><Status>OFF</Status><Status>ON</Status></LegalHold>"),
        (
            "retention",
            "<Retention><Mode>GOVERNANCE</Mode><Mode>COMPLIANCE</Mode>"
            "<RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>",
        ),
    ],
    ids=["legal-hold", "retention"],
)
def test_a_version_lock_element_given_twice_is_malformed(
    gateway: Gateway, s3: Any, subresource: str, document: str
) -> None:
    """Before: the first of two values was applied (``<Status>OFF</Status>
    <Status>ON</Status>`` left the version unheld and answered 200); S3's schema allows
    each once, and the document says two things at once."""
    bucket = _locked_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    body = document.encode()
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    path = f"/{bucket}/k?{subresource}"
    signed = sign(gateway, "PUT", path, body=body, headers=headers)
    refused = raw_request(gateway, "PUT", path, body=body, headers=signed)
    assert (refused.status, refused.error_code()) == (400, "MalformedXML")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert "ObjectLockMode" not in head and "ObjectLockLegalHoldStatus" not in head


@pytest.mark.parametrize(
    "rule",
    [
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        "<SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault>",
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        "</ApplyServerSideEncryptionByDefault>"
        "<BucketKeyEnabled>true</BucketKeyEnabled><BucketKeyEnabled>false</BucketKeyEnabled>",
    ],
    ids=["algorithm", "bucket-key"],
)
def test_a_default_encryption_element_given_twice_is_malformed(
    gateway: Gateway, s3: Any, bucket: str, rule: str
) -> None:
    body = (
        "<ServerSideEncryptionConfiguration><Rule>"
        f"{rule}</Rule></ServerSideEncryptionConfiguration>"
    ).encode()
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    path = f"/{bucket}?encryption"
    signed = sign(gateway, "PUT", path, body=body, headers=headers)
    refused = raw_request(gateway, "PUT", path, body=body, headers=signed)
    assert (refused.status, refused.error_code()) == (400, "MalformedXML")
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
