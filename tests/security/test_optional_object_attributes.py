"""``x-amz-optional-object-attributes`` of ListObjects, ListObjectsV2 and
ListObjectVersions is read, not ignored: ``RestoreStatus`` (S3's one value; the gateway
has no restored archived objects, so no entry gains a ``RestoreStatus``) lists as before,
any other value is 400 ``InvalidArgument`` naming the header and the value. The gateway
listed whatever the header said, where S3 refuses it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import added_header

HEADER = "x-amz-optional-object-attributes"
LISTINGS = ["list_objects", "list_objects_v2", "list_object_versions"]


@pytest.mark.parametrize("listing", LISTINGS)
def test_restore_status_lists_as_before(s3: Any, bucket: str, listing: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    page = getattr(s3, listing)(Bucket=bucket, OptionalObjectAttributes=["RestoreStatus"])
    entries = page.get("Contents") or page.get("Versions")
    assert [e["Key"] for e in entries] == ["k"]
    assert all("RestoreStatus" not in e for e in entries)
    # the JS SDK v3's form of a list header, and the value repeated
    with added_header(s3, HEADER, "RestoreStatus, RestoreStatus"):
        page = getattr(s3, listing)(Bucket=bucket)
    assert [e["Key"] for e in page.get("Contents") or page.get("Versions")] == ["k"]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("value", ["Owner", "restorestatus", "RestoreStatus,Owner"])
def test_another_optional_attribute_is_refused(
    gateway: Gateway, s3: Any, bucket: str, listing: str, value: str
) -> None:
    with added_header(s3, HEADER, value), pytest.raises(ClientError) as info:
        getattr(s3, listing)(Bucket=bucket)
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidArgument",
        "Invalid attribute name specified.",
    )
    assert error["ArgumentName"] == HEADER
    assert error["ArgumentValue"] == value.split(",")[-1]
