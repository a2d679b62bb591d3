"""Bucket versioning and delete markers through boto3: HTTP, HTTPS (aws-chunked uploads)
and the upstream backend (moto). The sequences are the ones AWS documents.

Where moto answers differently from AWS the test says so and names the deviation
(docs/upstream-backend.md); the filesystem backend is held to AWS's answers.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import (
    S3_NS,
    client_error,
    expect_error,
    keys_of,
    raw_request,
    seaweedfs_deviates,
    sign,
    unique,
    upstream,
)

MiB = 1024 * 1024
URL_SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")


@pytest.fixture
def versioned(s3: Any) -> str:
    name = unique("ver")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def headers_of(exc: ClientError) -> dict[str, str]:
    return dict(exc.response["ResponseMetadata"]["HTTPHeaders"])


def versions_of(gw: Gateway, bucket: str, **query: str) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is delete marker) in listing order, every page.

    Read from the XML itself: boto3 parses ``Version`` and ``DeleteMarker`` entries into two
    lists and so loses their interleaving, which is the order under test."""
    entries: list[tuple[str, str, bool, bool]] = []
    params = {"versions": "", **query}
    while True:
        path = f"/{bucket}?{urlencode(params)}"
        response = raw_request(gw, "GET", path, headers=sign(gw, "GET", path))
        assert response.status == 200, response.body
        root = response.xml()
        for element in root:
            name = element.tag.removeprefix(S3_NS)
            if name in ("Version", "DeleteMarker"):
                entries.append(
                    (
                        element.findtext(f"{S3_NS}Key") or "",
                        element.findtext(f"{S3_NS}VersionId") or "",
                        element.findtext(f"{S3_NS}IsLatest") == "true",
                        name == "DeleteMarker",
                    )
                )
        if root.findtext(f"{S3_NS}IsTruncated") != "true":
            return entries
        params["key-marker"] = root.findtext(f"{S3_NS}NextKeyMarker") or ""
        next_version = root.findtext(f"{S3_NS}NextVersionIdMarker")
        if next_version:
            params["version-id-marker"] = next_version
        else:
            params.pop("version-id-marker", None)


# -- state -------------------------------------------------------------------------------


def test_versioning_status_lifecycle(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)  # never versioned
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    expect_error(
        "NoSuchBucket",
        404,
        s3.put_bucket_versioning,
        Bucket=unique("missing"),
        VersioningConfiguration={"Status": "Enabled"},
    )


def test_mfa_delete_cannot_be_enabled(s3: Any, bucket: str) -> None:
    """No MFA device exists behind the gateway, so no request carries a valid x-amz-mfa:
    AWS's answer to that is AccessDenied. MfaDelete=Disabled is simply true."""
    expect_error(
        "AccessDenied",
        403,
        s3.put_bucket_versioning,
        Bucket=bucket,
        VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
    )
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"}
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_bad_versioning_documents(s3: Any, bucket: str) -> None:
    expect_error(
        "MalformedXML",
        400,
        s3.put_bucket_versioning,
        Bucket=bucket,
        VersioningConfiguration={"Status": "Sometimes"},
    )


# -- the AWS sequence ------------------------------------------------------------------------


def test_put_delete_marker_and_undelete(
    s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    """put v1, put v2, delete -> marker, get -> 404 with the marker header, get v1,
    delete the marker -> v2 is back."""
    seaweedfs_deviates(request, "a delete marker's 404 carries no x-amz-delete-marker header")
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and URL_SAFE.match(v1) and URL_SAFE.match(v2)
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert (got["Body"].read(), got["VersionId"]) == (b"two", v2)
    assert s3.head_object(Bucket=versioned, Key="doc")["VersionId"] == v2

    deleted = s3.delete_object(Bucket=versioned, Key="doc")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker not in (v1, v2)
    missing = expect_error("NoSuchKey", 404, s3.get_object, Bucket=versioned, Key="doc")
    assert headers_of(missing)["x-amz-delete-marker"] == "true"
    assert headers_of(missing)["x-amz-version-id"] == marker
    head = client_error(s3.head_object, Bucket=versioned, Key="doc")
    assert head.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert headers_of(head)["x-amz-delete-marker"] == "true"
    assert headers_of(head)["x-amz-version-id"] == marker
    assert keys_of(s3, versioned) == []  # ListObjects shows no key whose latest is a marker

    old = s3.get_object(Bucket=versioned, Key="doc", VersionId=v1)
    assert (old["Body"].read(), old["VersionId"]) == (b"one", v1)
    refused = expect_error(
        "MethodNotAllowed", 405, s3.get_object, Bucket=versioned, Key="doc", VersionId=marker
    )
    assert headers_of(refused)["x-amz-delete-marker"] == "true"
    if not upstream(request):  # moto's 405 carries no Last-Modified
        assert "last-modified" in headers_of(refused)
    head = client_error(s3.head_object, Bucket=versioned, Key="doc", VersionId=marker)
    assert head.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert headers_of(head)["x-amz-delete-marker"] == "true"

    undeleted = s3.delete_object(Bucket=versioned, Key="doc", VersionId=marker)
    assert undeleted["VersionId"] == marker
    if not upstream(request):  # moto does not say that the version it removed was a marker
        assert undeleted["DeleteMarker"] is True
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert (got["Body"].read(), got["VersionId"]) == (b"two", v2)
    assert keys_of(s3, versioned) == ["doc"]


def test_delete_a_version_permanently(any_gateway: Gateway, s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="k", Body=b"2")["VersionId"]
    gone = s3.delete_object(Bucket=versioned, Key="k", VersionId=v2)
    assert gone["VersionId"] == v2 and not gone.get("DeleteMarker")
    got = s3.get_object(Bucket=versioned, Key="k")  # the older version is the latest again
    assert (got["Body"].read(), got["VersionId"]) == (b"1", v1)
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=versioned, Key="k", VersionId=v2)
    s3.delete_object(Bucket=versioned, Key="k", VersionId=v1)
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=versioned, Key="k")
    assert versions_of(any_gateway, versioned) == []
    # a version id that names nothing (any more): 204, as S3 answers
    again = s3.delete_object(Bucket=versioned, Key="k", VersionId=v1)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_every_write_returns_its_version(any_gateway: Gateway, s3: Any, versioned: str) -> None:
    put = s3.put_object(Bucket=versioned, Key="src", Body=b"source bytes")
    copied = s3.copy_object(
        Bucket=versioned,
        Key="dst",
        CopySource={"Bucket": versioned, "Key": "src", "VersionId": put["VersionId"]},
    )
    assert copied["CopySourceVersionId"] == put["VersionId"]
    assert copied["VersionId"] not in (None, put["VersionId"])
    assert s3.head_object(Bucket=versioned, Key="dst")["VersionId"] == copied["VersionId"]
    upload = s3.create_multipart_upload(Bucket=versioned, Key="mp")
    part = s3.upload_part(
        Bucket=versioned, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 100
    )
    done = s3.complete_multipart_upload(
        Bucket=versioned,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert done["VersionId"]
    assert s3.head_object(Bucket=versioned, Key="mp")["VersionId"] == done["VersionId"]
    listed = {vid for key, vid, _, _ in versions_of(any_gateway, versioned)}
    assert listed == {put["VersionId"], copied["VersionId"], done["VersionId"]}


def test_unversioned_bucket_answers_as_before(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in put
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="k")
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert "DeleteMarker" not in deleted
    assert versions_of(any_gateway, bucket) == []


# -- suspended ---------------------------------------------------------------------------


def test_suspended_writes_replace_the_null_version(
    any_gateway: Gateway, s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    """suspend -> the null version is replaced; the versions before it are kept."""
    seaweedfs_deviates(
        request,
        "a write to a suspended bucket adds a version instead of replacing the null one",
        intermittent=True,
    )
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"null one")
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"null two")
    assert first.get("VersionId", "null") == "null" and second.get("VersionId", "null") == "null"
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"null two"
    if upstream(request):
        # moto: a PUT in a suspended bucket replaces every version of the key, not only
        # the null one (AWS keeps v1)
        assert versions_of(any_gateway, versioned) == [("k", "null", True, False)]
        return
    null = s3.get_object(Bucket=versioned, Key="k", VersionId="null")
    assert null["Body"].read() == b"null two"
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=v1)["Body"].read() == b"kept"
    entries = versions_of(any_gateway, versioned)
    assert entries == [("k", "null", True, False), ("k", v1, False, False)]
    # enabled again: the null version stays among the older versions
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    v3 = s3.put_object(Bucket=versioned, Key="k", Body=b"three")["VersionId"]
    assert [vid for _, vid, _, _ in versions_of(any_gateway, versioned)] == [v3, "null", v1]


def test_a_suspended_bucket_write_names_no_version(
    any_gateway: Gateway, s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    """A write to a ``Suspended`` bucket makes the ``null`` version and S3 answers it
    without ``x-amz-version-id`` (PutObject, CopyObject, CompleteMultipartUpload alike:
    the AWS-run suites of Scality's cloudserver and versitygw record it), while GET and
    HEAD of it say ``null`` and a DELETE's marker is ``null``. The gateway had answered
    ``x-amz-version-id: null`` to the writes on the filesystem backend and nothing over
    SeaweedFS."""
    seaweedfs_deviates(
        request,
        "a write to a suspended bucket adds a version instead of replacing the null one",
        intermittent=True,
    )
    s3.put_object(Bucket=versioned, Key="src", Body=b"source")
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    answers = {
        "PutObject": s3.put_object(Bucket=versioned, Key="k", Body=b"null one"),
        "CopyObject": s3.copy_object(
            Bucket=versioned, Key="c", CopySource={"Bucket": versioned, "Key": "src"}
        ),
    }
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=versioned, Key="m", UploadId=upload, PartNumber=1, Body=b"p")
    answers["CompleteMultipartUpload"] = s3.complete_multipart_upload(
        Bucket=versioned,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    for operation, answer in answers.items():
        headers = answer["ResponseMetadata"]["HTTPHeaders"]
        assert "x-amz-version-id" not in headers, (operation, headers)
    if upstream(request):
        return  # moto: a HEAD of the null version names none; a DELETE makes no marker
    for key in ("k", "c", "m"):
        assert s3.head_object(Bucket=versioned, Key=key)["VersionId"] == "null"
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"


def test_an_operation_without_versions_refuses_a_version_id(
    any_gateway: Gateway, s3: Any, versioned: str
) -> None:
    """``versionId`` on an operation that acts on no version (PutObject, UploadPart,
    CreateMultipartUpload, bucket requests) is 400 ``InvalidArgument`` "This operation
    does not accept a version-id." naming the value as sent, an empty one included, and
    nothing changes; GET ``?acl`` of a bucket calls it an invalid id. AWS's answers (a
    capture of them: UploadPart with an empty, a malformed and a real id; Scality's
    AWS-run suite: PutObject). The gateway had ignored it: a PutObject "of a version"
    wrote a new one."""
    real = s3.put_object(Bucket=versioned, Key="k", Body=b"x")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    b = versioned
    refused = [
        ("PUT", f"/{b}/k2?versionId={real}", b"x", "This operation does not accept"),
        ("PUT", f"/{b}/m?partNumber=1&uploadId={upload}&versionId=", b"p", "does not accept"),
        ("PUT", f"/{b}/m?partNumber=1&uploadId={upload}&versionId=abc", b"p", "does not"),
        ("POST", f"/{b}/m2?uploads&versionId=null", b"", "This operation does not accept"),
        ("GET", f"/{b}?list-type=2&versionId={real}", b"", "This operation does not accept"),
        ("GET", f"/{b}?versioning&versionId=x", b"", "This operation does not accept"),
        ("GET", f"/{b}?acl&versionId=x", b"", "Invalid version id specified"),
    ]
    for method, path, body, message in refused:
        headers = sign(any_gateway, method, path, body=body)
        response = raw_request(any_gateway, method, path, body=body, headers=headers)
        assert response.status == 400, (path, response.body)
        root = response.xml()
        assert root.findtext("Code") == "InvalidArgument", (path, response.body)
        assert message in (root.findtext("Message") or ""), (path, response.body)
        assert root.findtext("ArgumentName") == "versionId", (path, response.body)
    assert keys_of(s3, versioned) == ["k"]
    assert "Parts" not in s3.list_parts(Bucket=versioned, Key="m", UploadId=upload)
    uploads = s3.list_multipart_uploads(Bucket=versioned).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["m"]
    # the operations that act on a version take it
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=real)["Body"].read() == b"x"


def test_suspended_delete_makes_a_null_marker(
    any_gateway: Gateway, s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=versioned, Key="k", Body=b"null")
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    if upstream(request):
        # moto: a DELETE in a suspended bucket removes every version and adds no marker
        assert versions_of(any_gateway, versioned) == []
        return
    assert (deleted["DeleteMarker"], deleted["VersionId"]) == (True, "null")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=versioned, Key="k")
    assert versions_of(any_gateway, versioned) == [
        ("k", "null", True, True),
        ("k", v1, False, False),
    ]


@pytest.mark.parametrize("status", ["Enabled", "Suspended"])
def test_an_object_from_before_versioning_is_named_null(
    any_gateway: Gateway, s3: Any, bucket: str, status: str, request: pytest.FixtureRequest
) -> None:
    """An object written before versioning was first configured is the null version:
    once the bucket has been versioned (enabled or suspended) every answer about it says
    ``x-amz-version-id: null``, as AWS does; it used to answer no version at all, so a
    client could not tell the version it read from a never-versioned bucket's object."""
    seaweedfs_deviates(request, "GetObjectTagging of the null version names no version")
    s3.put_object(Bucket=bucket, Key="old", Body=b"from before", Tagging="t=1")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    listed = s3.list_object_versions(Bucket=bucket, Prefix="old")["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in listed] == [("null", True)]
    if upstream(request):
        # moto names the version null in listings only (docs/upstream-backend.md)
        assert "VersionId" not in s3.head_object(Bucket=bucket, Key="old")
        return
    assert s3.head_object(Bucket=bucket, Key="old")["VersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="old")["VersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="old", VersionId="null")["VersionId"] == "null"
    ranged = s3.get_object(Bucket=bucket, Key="old", Range="bytes=0-3")
    assert (ranged["Body"].read(), ranged["VersionId"]) == (b"from", "null")
    assert s3.get_object_tagging(Bucket=bucket, Key="old")["VersionId"] == "null"
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "old"})
    assert copied["CopySourceVersionId"] == "null"
    attributes = s3.get_object_attributes(Bucket=bucket, Key="old", ObjectAttributes=["ETag"])
    assert attributes["VersionId"] == "null"


# -- reads and copies of versions --------------------------------------------------------


def test_bad_and_unknown_version_ids(
    s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    seaweedfs_deviates(request, "an id it cannot have issued is NoSuchVersion, not InvalidArgument")
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1")["VersionId"]
    if not upstream(request):  # moto accepts any string as an id and looks it up
        expect_error(
            "InvalidArgument", 400, s3.get_object, Bucket=versioned, Key="k", VersionId="abc"
        )
        expect_error(
            "InvalidArgument", 400, s3.delete_object, Bucket=versioned, Key="k", VersionId="a b"
        )
    unknown = v1[:-1] + ("A" if v1[-1] != "A" else "B")
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=versioned, Key="k", VersionId=unknown)
    head = client_error(s3.head_object, Bucket=versioned, Key="k", VersionId=unknown)
    assert head.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=versioned, Key="other", VersionId=v1)


def test_restore_a_previous_version_by_copy(any_gateway: Gateway, s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="report", Body=b"good")["VersionId"]
    s3.put_object(Bucket=versioned, Key="report", Body=b"bad")
    restored = s3.copy_object(
        Bucket=versioned,
        Key="report",
        CopySource={"Bucket": versioned, "Key": "report", "VersionId": v1},
    )
    assert restored["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=versioned, Key="report")["Body"].read() == b"good"
    assert len(versions_of(any_gateway, versioned)) == 3
    # copying the latest onto itself without changes is still refused
    expect_error(
        "InvalidRequest",
        400,
        s3.copy_object,
        Bucket=versioned,
        Key="report",
        CopySource={"Bucket": versioned, "Key": "report"},
    )


def test_copy_from_a_delete_marker(s3: Any, versioned: str, request: pytest.FixtureRequest) -> None:
    """A delete marker named by its version id is no copy source, whichever way the copy
    reads it: S3's 400 ``InvalidRequest`` for CopyObject (plain, with metadata
    ``REPLACE``, with a source condition) and UploadPartCopy alike. Through the s3
    backend the copies that HEAD their source had answered 405 ``MethodNotAllowed`` with
    the source marker's headers, and moto's plain copy ``NoSuchVersion``."""
    seaweedfs_deviates(request, "copying from a delete marker is NoSuchKey, not InvalidRequest")
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=versioned, Key="k")["VersionId"]
    source = {"Bucket": versioned, "Key": "k", "VersionId": marker}
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    attempts: list[tuple[Any, dict[str, Any]]] = [
        (s3.copy_object, {"Key": "c"}),
        (s3.copy_object, {"Key": "c", "MetadataDirective": "REPLACE"}),
        (s3.copy_object, {"Key": "c", "CopySourceIfMatch": '"0123"'}),
        (s3.upload_part_copy, {"Key": "m", "UploadId": upload, "PartNumber": 1}),
    ]
    for copy, params in attempts:
        error = expect_error(
            "InvalidRequest", 400, copy, Bucket=versioned, CopySource=source, **params
        )
        assert "delete marker" in error.response["Error"]["Message"]
        assert "x-amz-delete-marker" not in headers_of(error)
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)


def test_copy_of_a_deleted_key_names_its_marker(
    s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    """A copy whose source key's latest version is a delete marker is 404 ``NoSuchKey``
    naming the source key, with the marker's ``x-amz-delete-marker`` and
    ``x-amz-version-id``, as AWS answers CopyObject and UploadPartCopy (a capture of
    AWS's answers: test_a3 and test_b1 of "S3 Compliance: Versioning Mix"). The gateway
    had left the headers out on the filesystem backend, and moto's copy says neither."""
    seaweedfs_deviates(request, "a delete marker's 404 carries no x-amz-delete-marker header")
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=versioned, Key="k")["VersionId"]
    source = {"Bucket": versioned, "Key": "k"}
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    attempts: list[tuple[Any, dict[str, Any]]] = [
        (s3.copy_object, {"Key": "c"}),
        (s3.copy_object, {"Key": "c", "MetadataDirective": "REPLACE"}),
        (s3.upload_part_copy, {"Key": "m", "UploadId": upload, "PartNumber": 1}),
    ]
    for copy, params in attempts:
        error = expect_error("NoSuchKey", 404, copy, Bucket=versioned, CopySource=source, **params)
        assert error.response["Error"]["Key"] == "k", error.response
        headers = headers_of(error)
        assert headers.get("x-amz-delete-marker") == "true", headers
        assert headers.get("x-amz-version-id") == marker, headers


def test_upload_part_copy_and_ranges_of_a_version(
    s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    size = 5 * MiB + 100
    v1 = s3.put_object(Bucket=versioned, Key="big", Body=b"a" * size)["VersionId"]
    s3.put_object(Bucket=versioned, Key="big", Body=b"b" * size)
    upload = s3.create_multipart_upload(Bucket=versioned, Key="joined")
    copied = s3.upload_part_copy(
        Bucket=versioned,
        Key="joined",
        UploadId=upload["UploadId"],
        PartNumber=1,
        CopySource={"Bucket": versioned, "Key": "big", "VersionId": v1},
        CopySourceRange="bytes=0-5242879",
    )
    assert copied["CopySourceVersionId"] == v1
    tail = s3.upload_part(
        Bucket=versioned, Key="joined", UploadId=upload["UploadId"], PartNumber=2, Body=b"z"
    )
    s3.complete_multipart_upload(
        Bucket=versioned,
        Key="joined",
        UploadId=upload["UploadId"],
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": tail["ETag"]},
            ]
        },
    )
    data = s3.get_object(Bucket=versioned, Key="joined")["Body"].read()
    assert data == b"a" * (5 * MiB) + b"z"
    ranged = s3.get_object(Bucket=versioned, Key="big", VersionId=v1, Range="bytes=0-9")
    assert ranged["Body"].read() == b"a" * 10
    if upstream(request):
        return  # moto ignores partNumber (the backend refuses it: docs/upstream-backend.md)
    latest = s3.head_object(Bucket=versioned, Key="joined")["VersionId"]
    part = s3.get_object(Bucket=versioned, Key="joined", VersionId=latest, PartNumber=2)
    assert (part["Body"].read(), part["PartsCount"]) == (b"z", 2)


# -- DeleteObjects -----------------------------------------------------------------------


def test_delete_objects_with_versions(
    any_gateway: Gateway, s3: Any, versioned: str, request: pytest.FixtureRequest
) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="b", Body=b"2")
    answer = s3.delete_objects(
        Bucket=versioned,
        Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}]},
    )
    deleted = {d["Key"]: d for d in answer["Deleted"]}
    assert deleted["a"]["VersionId"] == v1 and not deleted["a"].get("DeleteMarker")
    assert deleted["b"]["DeleteMarker"] is True
    marker = deleted["b"]["DeleteMarkerVersionId"]
    assert versions_of(any_gateway, versioned, Prefix="b")[0] == ("b", marker, True, True)
    again = s3.delete_objects(
        Bucket=versioned, Delete={"Objects": [{"Key": "b", "VersionId": marker}]}
    )
    removed = again["Deleted"][0]
    assert removed["VersionId"] == marker
    if not upstream(request):  # moto does not say that the version it removed was a marker
        assert (removed["DeleteMarker"], removed["DeleteMarkerVersionId"]) == (True, marker)
    assert s3.get_object(Bucket=versioned, Key="b")["Body"].read() == b"2"


def test_a_copy_source_with_an_empty_version_id(any_gateway: Gateway, versioned: str) -> None:
    """``x-amz-copy-source: /b/k?versionId=`` is 400 ``InvalidArgument`` "Version id
    cannot be the empty string" naming ``x-amz-copy-source``, for CopyObject and
    UploadPartCopy, as AWS answers (a capture of its answers, tests i1 and j1); the
    gateway had called it a malformed copy source."""
    s3 = any_gateway.client()
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    for path in (f"/{versioned}/c", f"/{versioned}/m?partNumber=1&uploadId={upload}"):
        copy = {"x-amz-copy-source": f"/{versioned}/k?versionId="}
        headers = sign(any_gateway, "PUT", path, headers=copy)
        response = raw_request(any_gateway, "PUT", path, headers=headers)
        assert response.status == 400, response.body
        root = response.xml()
        assert root.findtext("Code") == "InvalidArgument", response.body
        assert root.findtext("Message") == "Version id cannot be the empty string"
        assert root.findtext("ArgumentName") == "x-amz-copy-source", response.body
    assert keys_of(s3, versioned) == ["k"]


def test_a_copy_source_version_id_no_store_issues(
    any_gateway: Gateway, versioned: str, request: pytest.FixtureRequest
) -> None:
    """A copy source's version id the store cannot have issued is 400 ``InvalidArgument``
    "Invalid version id specified" naming ``x-amz-copy-source`` (the header it came in)
    with the id, as AWS answers UploadPartCopy (a capture of its answers, test j2); it
    had been named ``versionId``, a query parameter the request does not have."""
    seaweedfs_deviates(request, "an id it cannot have issued is NoSuchVersion, not InvalidArgument")
    s3 = any_gateway.client()
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="m")["UploadId"]
    copy = {"Bucket": versioned, "Key": "m", "UploadId": upload, "PartNumber": 1}
    source = {"Bucket": versioned, "Key": "k", "VersionId": "abc"}
    if upstream(request):  # moto looks any string up as an id: NoSuchVersion, passed through
        expect_error("NoSuchVersion", 404, s3.upload_part_copy, CopySource=source, **copy)
        return
    error = expect_error("InvalidArgument", 400, s3.upload_part_copy, CopySource=source, **copy)
    assert error.response["Error"]["Message"] == "Invalid version id specified"
    assert error.response["Error"]["ArgumentName"] == "x-amz-copy-source"
    assert error.response["Error"]["ArgumentValue"] == "abc"


def test_delete_objects_names_each_key_and_version_once(s3: Any, versioned: str) -> None:
    """A DeleteObjects entry repeating a (key, version) pair is deleted and reported
    once: a key named twice without a version gets one delete marker and one
    ``Deleted``; the key bare and with a version id are two pairs. AWS's answers (a
    capture of them: same key twice, same version twice, bare plus version); the
    gateway had made two delete markers and reported both."""
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"2")
    twice = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "k"}, {"Key": "k"}]})[
        "Deleted"
    ]
    assert [entry["Key"] for entry in twice] == ["k"]
    listing = s3.list_object_versions(Bucket=versioned)
    assert len(listing.get("DeleteMarkers", [])) == 1
    assert len(listing["Versions"]) == 2
    pairs = [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": v1}, {"Key": "k"}]
    answer = s3.delete_objects(Bucket=versioned, Delete={"Objects": pairs})
    assert len(answer["Deleted"]) == 2 and "Errors" not in answer, answer
    listing = s3.list_object_versions(Bucket=versioned)
    assert v1 not in [version["VersionId"] for version in listing["Versions"]]
    assert len(listing["Versions"]) == 1 and len(listing["DeleteMarkers"]) == 2


@pytest.mark.parametrize("versioning", [None, "Enabled"])
def test_delete_objects_with_an_empty_version_id_deletes_nothing(
    s3: Any, bucket: str, versioning: str | None
) -> None:
    """``<VersionId></VersionId>`` names no version: the key's error, never a delete of the
    current object (the s3 backend used to send it upstream as no version at all, which
    removed an unversioned bucket's object for good)."""
    if versioning:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning})
    s3.put_object(Bucket=bucket, Key="kept", Body=b"still here")
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "kept", "VersionId": ""}, {"Key": "other"}]},
    )
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in answer["Errors"]] == [
        ("kept", "", "NoSuchVersion")
    ]
    assert [d["Key"] for d in answer["Deleted"]] == ["other"]
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"still here"
    if versioning:
        listed = s3.list_object_versions(Bucket=bucket, Prefix="kept")
        assert "DeleteMarkers" not in listed and len(listed["Versions"]) == 1


def test_a_copy_names_the_source_version_it_copied(
    s3: Any, bucket: str, versioned: str, request: pytest.FixtureRequest
) -> None:
    """``x-amz-copy-source-version-id`` names the version copied when the request named
    none too (the source's latest); it used to be sent only back to a client that had
    named one. A source in a never-versioned bucket has no version to name."""
    seaweedfs_deviates(request, "CopyObject answers no x-amz-copy-source-version-id")
    first = s3.put_object(Bucket=versioned, Key="src", Body=b"one")["VersionId"]
    source = {"Bucket": versioned, "Key": "src"}
    latest = s3.copy_object(Bucket=bucket, Key="a", CopySource=source)
    assert latest["CopySourceVersionId"] == first
    second = s3.put_object(Bucket=versioned, Key="src", Body=b"two")["VersionId"]
    copied = s3.copy_object(Bucket=versioned, Key="b", CopySource=source)
    assert copied["CopySourceVersionId"] == second
    assert copied["VersionId"] not in (first, second)
    named = s3.copy_object(Bucket=bucket, Key="c", CopySource={**source, "VersionId": first})
    assert named["CopySourceVersionId"] == first
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    plain = s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "plain"})
    assert "CopySourceVersionId" not in plain


def test_a_part_copy_names_the_source_version_it_copied(
    s3: Any, bucket: str, versioned: str
) -> None:
    """UploadPartCopy answers ``x-amz-copy-source-version-id`` as CopyObject does: the
    version copied, also when the request named none (it used to echo a named one only);
    nothing for a source in a never-versioned bucket."""
    first = s3.put_object(Bucket=versioned, Key="src", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="src", Body=b"two")["VersionId"]
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]

    def part_copy(number: int, source: dict[str, str]) -> dict[str, Any]:
        return dict(
            s3.upload_part_copy(
                Bucket=bucket, Key="joined", UploadId=upload, PartNumber=number, CopySource=source
            )
        )

    latest = part_copy(1, {"Bucket": versioned, "Key": "src"})
    assert latest["CopySourceVersionId"] == second
    named = part_copy(2, {"Bucket": versioned, "Key": "src", "VersionId": first})
    assert named["CopySourceVersionId"] == first
    plain = part_copy(3, {"Bucket": bucket, "Key": "plain"})
    assert "CopySourceVersionId" not in plain
    s3.abort_multipart_upload(Bucket=bucket, Key="joined", UploadId=upload)


def test_a_copy_that_heads_its_source_names_the_version_it_found(
    s3: Any, bucket: str, versioned: str
) -> None:
    """A CopyObject the s3 backend pins with a HEAD of its source (a ``REPLACE`` of the
    metadata, a copy-source condition) names the version that HEAD found when the store
    answers no ``x-amz-copy-source-version-id`` (SeaweedFS), as UploadPartCopy does; it
    used to name none. A plain copy makes no HEAD there: docs/upstream-backend.md."""
    s3.put_object(Bucket=versioned, Key="src", Body=b"one")
    latest = s3.put_object(Bucket=versioned, Key="src", Body=b"two")
    source = {"Bucket": versioned, "Key": "src"}
    replaced = s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource=source,
        MetadataDirective="REPLACE",
        Metadata={"new": "n"},
    )
    assert replaced["CopySourceVersionId"] == latest["VersionId"]
    conditional = s3.copy_object(
        Bucket=bucket, Key="conditional", CopySource=source, CopySourceIfMatch=latest["ETag"]
    )
    assert conditional["CopySourceVersionId"] == latest["VersionId"]
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    plain = s3.copy_object(
        Bucket=bucket,
        Key="plain-copy",
        CopySource={"Bucket": bucket, "Key": "plain"},
        MetadataDirective="REPLACE",
    )
    assert "CopySourceVersionId" not in plain  # a never-versioned bucket: no version
