"""Class: a header S3 acts on must never be silently ignored.

An S3 client that sends ``x-amz-write-offset-bytes`` expects an append, one that sends
``x-amz-object-lock-event-hold: ON`` expects an object nobody can delete, one that sends
``x-amz-if-match-initiated-time`` expects an abort that happens only if the upload is the
one it means. Ignoring such a header does something else than the client asked, with a
success answer. Each is refused (``gateway/s3/refused_headers.py``: 501 naming it, before
anything changes) or evaluated. The last test keeps the class closed: every header
botocore's S3 model can send to an operation the gateway implements is accounted for, so
a new one (botocore grows them: event holds, annotations, namespaces) fails here until
someone decides what the gateway does with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest

from gateway.s3.operations import OPERATIONS
from gateway.s3.refused_headers import REFUSED
from sigv4.checksums import CHECKSUM_HEADERS
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form, presigned_post
from tests.e2e.s3util import RawResponse, expect_error, keys_of, raw_request, sign, unique
from tests.security.source_graph import read_by

Attempt = Callable[[Any, str], Any]
"""Sends one request carrying the refused header (boto3 parameters, as a client would)."""


def _create_upload(s3: Any, bucket: str, **extra: Any) -> Any:
    return s3.create_multipart_upload(Bucket=bucket, Key="mp", **extra)


def _abort(s3: Any, bucket: str) -> Any:
    upload = _create_upload(s3, bucket)["UploadId"]
    try:
        return s3.abort_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload, IfMatchInitiatedTime=datetime.now(UTC)
        )
    finally:
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        assert [u["UploadId"] for u in uploads] == [upload]  # still there: not aborted


ATTEMPTS: dict[str, Attempt] = {
    "x-amz-write-offset-bytes": lambda s3, b: s3.put_object(
        Bucket=b, Key="k", Body=b"more", WriteOffsetBytes=3
    ),
    "x-amz-object-lock-event-hold": lambda s3, b: s3.put_object(
        Bucket=b, Key="k", Body=b"held", ObjectLockEventHold="ON"
    ),
    "x-amz-object-lock-event-hold-duration-days": lambda s3, b: s3.copy_object(
        Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k"}, ObjectLockEventHoldDurationDays=5
    ),
    "x-amz-object-lock-event-hold-duration-years": lambda s3, b: _create_upload(
        s3, b, ObjectLockEventHoldDurationYears=1
    ),
    "x-amz-if-match-size": lambda s3, b: s3.delete_object(Bucket=b, Key="k", IfMatchSize=999),
    "x-amz-if-match-last-modified-time": lambda s3, b: s3.delete_object(
        Bucket=b, Key="k", IfMatchLastModifiedTime=datetime(2020, 1, 1, tzinfo=UTC)
    ),
    "x-amz-if-match-initiated-time": _abort,
    "x-amz-website-redirect-location": lambda s3, b: s3.put_object(
        Bucket=b, Key="k", Body=b"redirect", WebsiteRedirectLocation="/elsewhere"
    ),
    "x-amz-bucket-namespace": lambda s3, b: s3.create_bucket(
        Bucket=f"{b}-x", BucketNamespace="account-regional"
    ),
}


def test_every_refused_header_has_an_attempt() -> None:
    refused = {entry.header for entries in REFUSED.values() for entry in entries}
    assert refused == set(ATTEMPTS)


@pytest.mark.parametrize("header", sorted(ATTEMPTS))
def test_refused_header_changes_nothing(s3: Any, bucket: str, header: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    error = expect_error("NotImplemented", 501, ATTEMPTS[header], s3, bucket)
    assert error.response["Error"].get("Header") == header, error.response
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
    assert keys_of(s3, bucket) == ["k"]
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert f"{bucket}-x" not in names
    if header != "x-amz-if-match-initiated-time":
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_values_that_ask_for_nothing_are_accepted(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", ObjectLockEventHold="OFF")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"
    name = unique("sec")
    s3.create_bucket(Bucket=name, BucketNamespace="global")
    assert name in {b["Name"] for b in s3.list_buckets()["Buckets"]}


IGNORED = {
    "x-amz-request-payer": "every bucket is BucketOwner-pays; S3 itself ignores it there",
    "x-amz-confirm-remove-self-bucket-access": "a confirmation, asks for nothing",
    "x-amz-bucket-object-lock-token": "issued by S3 for replicated buckets; none here",
    "x-amz-object-annotation-directive": "objects here carry no annotations to copy",
    "x-amz-mfa": "MFA delete can never be enabled here (PutBucketVersioning refuses it); "
    "S3 needs the header only where it is",
    "x-amz-skip-destination-validation": "skips checking notification destinations; the "
    "one notification document accepted here (the empty one) names none",
    "x-amz-server-side-encryption-bucket-key-enabled": "S3 Bucket Keys serve SSE-KMS only, "
    "which is refused (501); with SSE-S3 or none S3 applies no bucket key either",
}
"""Headers botocore may send that the gateway reads nowhere, on purpose (why)."""

FAMILIES = (
    "x-amz-copy-source-",  # + "if-match"...: gateway.s3.headers.conditions(prefix=...)
    "x-amz-server-side-encryption-customer-",  # + "key"...: gateway.s3.sse.CUSTOMER
    "x-amz-copy-source-server-side-encryption-customer-",  # gateway.s3.sse
)
"""Prefixes the code reads headers by, joined to the rest of the name: a header counts as
read by an operation whose code quotes both its prefix and its rest."""


def test_every_header_botocore_sends_is_accounted_for() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    implemented = {op.name for op in OPERATIONS if op.implemented}
    unaccounted: dict[str, list[str]] = {}
    for name in sorted(implemented & set(model.operation_names)):
        shape = model.operation_model(name).input_shape
        for member in shape.members.values() if shape is not None else ():
            if member.serialization.get("location") != "header":
                continue
            header = member.serialization["name"].lower()
            if (
                header in IGNORED
                or any(
                    header.startswith(family)
                    and read_by(name, family)
                    and read_by(name, header.removeprefix(family), case_sensitive=False)
                    for family in FAMILIES
                )
                or header in CHECKSUM_HEADERS  # every body's, verified by sigv4.payload
                or header in {entry.header for entry in REFUSED.get(name, ())}
                or read_by(name, header, case_sensitive=False)
            ):
                continue
            unaccounted.setdefault(header, []).append(name)
    assert unaccounted == {}, (
        "headers botocore sends that the gateway neither reads nor refuses "
        "(gateway/s3/refused_headers.py) nor ignores on purpose (IGNORED here)"
    )


def test_no_header_ignored_on_purpose_is_read() -> None:
    """``IGNORED`` says why an operation botocore sends a header to reads it nowhere: once
    one reads it (as the listings came to read ``x-amz-optional-object-attributes``), the
    entry is untrue, and it would hide that header if the gateway stopped reading it."""
    model = botocore.session.get_session().get_service_model("s3")
    implemented = {op.name for op in OPERATIONS if op.implemented}
    read: dict[str, list[str]] = {}
    for name in sorted(implemented & set(model.operation_names)):
        shape = model.operation_model(name).input_shape
        for member in shape.members.values() if shape is not None else ():
            header = member.serialization.get("name", "").lower()
            if (
                member.serialization.get("location") == "header"
                and header in IGNORED
                and read_by(name, header, case_sensitive=False)
            ):
                read.setdefault(header, []).append(name)
    assert read == {}


def test_a_checksum_header_of_no_known_algorithm_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """``x-amz-checksum-<name>`` for an algorithm the gateway does not know would store a
    body the client believes checked: 400 ``InvalidRequest`` naming it, the old object
    kept (the HANDLED_FAMILIES entry above relies on this)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    path = f"/{bucket}/k"
    headers = {"x-amz-checksum-blake3": "AAAA"}
    signed = sign(gateway, "PUT", path, body=b"new", headers=headers)
    response = raw_request(gateway, "PUT", path, body=b"new", headers={**headers, **signed})
    assert response.status == 400, response.body
    assert b"<Code>InvalidRequest</Code>" in response.body
    assert b"x-amz-checksum-blake3" in response.body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


def _post_with(gateway: Gateway, bucket: str, fields: dict[str, str]) -> RawResponse:
    """A form upload of ``form.bin`` whose signed policy allows ``fields``."""
    form = presigned_post(
        gateway.client(signature_version="s3v4"),
        bucket,
        "form.bin",
        Fields=fields,
        Conditions=[fields],
    )
    return post_form(gateway, bucket, form, b"form body")


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("x-amz-website-redirect-location", "/else", b"<Header>x-amz-website-redirect-location<"),
        ("x-amz-object-lock-event-hold", "ON", b"<Header>x-amz-object-lock-event-hold</Header>"),
        ("x-amz-grant-read", 'id="someone"', b"<ArgumentName>x-amz-grant-read</ArgumentName>"),
        ("x-amz-tagging", "a=b", b"<ArgumentName>x-amz-tagging</ArgumentName>"),
        ("x-amz-write-offset-bytes", "3", b"<ArgumentName>x-amz-write-offset-bytes</ArgumentName>"),
    ],
)
def test_a_form_field_asking_for_what_forms_do_not_do_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str, field: str, value: str, named: bytes
) -> None:
    """POST Object's form fields stand for headers: a field standing for a refused header
    gets its refusal; any other ``x-amz-*`` field the policy names but no form here acts
    on (the form's tags are the ``tagging`` field) is refused naming it, not dropped."""
    reply = _post_with(gateway, bucket, {field: value})
    assert reply.status == 501, reply.body
    assert named in reply.body
    assert keys_of(s3, bucket) == []


def test_a_form_asking_for_no_event_hold_is_stored(gateway: Gateway, s3: Any, bucket: str) -> None:
    reply = _post_with(gateway, bucket, {"x-amz-object-lock-event-hold": "OFF"})
    assert reply.status == 204, reply.body
    assert s3.get_object(Bucket=bucket, Key="form.bin")["Body"].read() == b"form body"
