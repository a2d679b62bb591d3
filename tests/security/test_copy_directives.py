"""Class: an enumerated header S3 reads case-sensitively is read so here.

CopyObject's ``x-amz-metadata-directive`` and ``x-amz-tagging-directive`` are ``COPY``
or ``REPLACE``; S3 answers any other value, ``copy`` and ``Replace`` included, 400
``InvalidArgument`` "Unknown metadata directive." / "Unknown tagging directive.". The
gateway upper-cased the value first, so it copied (and replaced metadata or tags) where
S3 refuses, and authorized the tagging directive from a second reading of the header.
Both are now read once, exactly (``gateway.s3.request._directive``).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import added_header


@pytest.mark.parametrize(
    ("header", "value", "what"),
    [
        ("x-amz-metadata-directive", "replace", "metadata"),
        ("x-amz-metadata-directive", "Copy", "metadata"),
        ("x-amz-metadata-directive", "MOVE", "metadata"),
        ("x-amz-tagging-directive", "replace", "tagging"),
        ("x-amz-tagging-directive", "copy", "tagging"),
    ],
)
def test_a_directive_in_another_case_is_refused_and_copies_nothing(
    gateway: Gateway, s3: Any, bucket: str, header: str, value: str, what: str
) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"a": "1"}, Tagging="t=1")
    with added_header(s3, header, value), pytest.raises(ClientError) as info:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            Metadata={"a": "2"},
            Tagging="t=2",
        )
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidArgument", f"Unknown {what} directive.")
    assert (error["ArgumentName"], error["ArgumentValue"]) == (header, value)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["src"]


def test_the_directives_as_the_sdks_send_them_still_work(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"a": "1"}, Tagging="t=1")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=source)
    assert s3.head_object(Bucket=bucket, Key="copied")["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource=source,
        MetadataDirective="REPLACE",
        Metadata={"a": "2"},
        TaggingDirective="REPLACE",
        Tagging="t=2",
    )
    assert s3.head_object(Bucket=bucket, Key="replaced")["Metadata"] == {"a": "2"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"]
    assert tags == [{"Key": "t", "Value": "2"}]
    s3.copy_object(
        Bucket=bucket,
        Key="kept",
        CopySource=source,
        MetadataDirective="COPY",
        TaggingDirective="COPY",
    )
    tags = s3.get_object_tagging(Bucket=bucket, Key="kept")["TagSet"]
    assert tags == [{"Key": "t", "Value": "1"}]
