"""Class: an invalid boolean value never silently becomes the default.

``x-amz-bucket-object-lock-enabled: yes`` read as false makes a bucket without Object
Lock that the client believes is protected; ``x-amz-bypass-governance-retention: 1`` read
as false turns a forced delete into a refusal that blames the retention; ``fetch-owner=1``
read as false drops the owners the caller asked for. Each boolean S3 reads is read by one
function (``gateway/s3/flags.py``): ``true`` / ``false`` in any case, anything else 400
``InvalidArgument`` naming it, before anything changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import added_header, expect_error, raw_request, sign, unique

LOCK = "x-amz-bucket-object-lock-enabled"
BYPASS = "x-amz-bypass-governance-retention"


def _refused_naming(exc: Any, name: str, sent: str) -> None:
    error = exc.response["Error"]
    assert error["Code"] == "InvalidArgument", exc.response
    assert error["ArgumentName"] == name, exc.response
    assert (error.get("ArgumentValue") or "") == sent, exc.response  # botocore: <X/> is None


@pytest.mark.parametrize("sent", ["yes", "1", "", "enabled", "true!"])
def test_create_bucket_refuses_an_invalid_lock_flag(gateway: Gateway, sent: str) -> None:
    s3 = gateway.client(signature_version="s3v4")
    name = unique("flag")
    with added_header(s3, LOCK, sent):
        exc = expect_error("InvalidArgument", 400, s3.create_bucket, Bucket=name)
    _refused_naming(exc, LOCK, sent)
    expect_error("404", 404, s3.head_bucket, Bucket=name)  # nothing was made


@pytest.mark.parametrize(("sent", "locked"), [("True", True), (" TRUE ", True), ("false", False)])
def test_create_bucket_reads_the_lock_flag_in_any_case(
    gateway: Gateway, sent: str, locked: bool
) -> None:
    s3 = gateway.client(signature_version="s3v4")
    name = unique("flag")
    with added_header(s3, LOCK, sent):
        s3.create_bucket(Bucket=name)
    if locked:
        config = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        assert config["ObjectLockEnabled"] == "Enabled"
    else:
        expect_error(
            "ObjectLockConfigurationNotFoundError",
            404,
            s3.get_object_lock_configuration,
            Bucket=name,
        )


def test_delete_refuses_an_invalid_bypass_flag(gateway: Gateway) -> None:
    s3 = gateway.client(signature_version="s3v4")
    name = unique("flag")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    version = s3.put_object(
        Bucket=name,
        Key="k",
        Body=b"kept",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=1),
    )["VersionId"]
    with added_header(s3, BYPASS, "1"):
        exc = expect_error(
            "InvalidArgument", 400, s3.delete_object, Bucket=name, Key="k", VersionId=version
        )
    _refused_naming(exc, BYPASS, "1")
    assert s3.get_object(Bucket=name, Key="k", VersionId=version)["Body"].read() == b"kept"
    # An operation the header does not act on ignores it, whatever its value, as S3 does.
    with added_header(s3, BYPASS, "1"):
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"kept"
    # The same request with the word the SDKs send bypasses the retention.
    with added_header(s3, BYPASS, "True"):
        s3.delete_object(Bucket=name, Key="k", VersionId=version)
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=name, Key="k", VersionId=version)


def test_list_objects_v2_refuses_an_invalid_fetch_owner(gateway: Gateway, bucket: str) -> None:
    path = f"/{bucket}?list-type=2&fetch-owner=1"
    answer = raw_request(gateway, "GET", path, headers=sign(gateway, "GET", path))
    assert answer.status == 400, answer.body
    error = answer.xml()
    assert error.findtext("Code") == "InvalidArgument"
    assert error.findtext("ArgumentName") == "fetch-owner"
    assert error.findtext("ArgumentValue") == "1"
    path = f"/{bucket}?list-type=2&fetch-owner=TRUE"
    answer = raw_request(gateway, "GET", path, headers=sign(gateway, "GET", path))
    assert answer.status == 200, answer.body


def test_an_invalid_checksum_mode_is_refused(s3: Any, bucket: str) -> None:
    """AWS's answer (OpenStack Swift's s3api suite, checked against AWS): GetObject 400
    ``InvalidRequest``, HeadObject 400 (no body to name it); never a reply without the
    checksums the client asked to verify."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumCRC32="rfPzYw==")
    exc = expect_error(
        "InvalidRequest", 400, s3.get_object, Bucket=bucket, Key="k", ChecksumMode="ON"
    )
    assert exc.response["Error"]["Message"] == "Value for x-amz-checksum-mode header is invalid."
    expect_error("400", 400, s3.head_object, Bucket=bucket, Key="k", ChecksumMode="ON")
    expect_error("400", 400, s3.head_object, Bucket=bucket, Key="k", ChecksumMode="")
    for sent in ("ENABLED", "enabled"):
        assert (
            s3.get_object(Bucket=bucket, Key="k", ChecksumMode=sent)["ChecksumCRC32"] == "rfPzYw=="
        )
        assert (
            s3.head_object(Bucket=bucket, Key="k", ChecksumMode=sent)["ChecksumCRC32"] == "rfPzYw=="
        )
