"""Object and bucket tagging through boto3, over HTTP and HTTPS and with both backends
(``any_gateway``): the operations, ``x-amz-tagging`` on writes and copies,
``x-amz-tagging-count`` on reads, versions, AWS's limits and error codes, and scopes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import (
    expect_error,
    keys_of,
    raw_request,
    seaweedfs,
    seaweedfs_deviates,
    sign,
    unique,
)

TAGS = [{"Key": "colour", "Value": "blue"}, {"Key": "size", "Value": "L"}]


def tag_set(s3: Any, bucket: str, key: str, **kw: Any) -> list[dict[str, str]]:
    result: list[dict[str, str]] = s3.get_object_tagging(Bucket=bucket, Key=key, **kw)["TagSet"]
    return result


def test_put_get_delete_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert tag_set(s3, bucket, "k") == []
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": list(reversed(TAGS))})
    assert tag_set(s3, bucket, "k") == TAGS  # read back in key order
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["TagCount"] == 2
    assert got["Body"].read() == b"data"
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tag_set(s3, bucket, "k") == []
    assert (
        "x-amz-tagging-count"
        not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    )
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")


def test_tagging_header_on_put(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="b=2&a=1&empty=&sp=a+b%20c")
    assert tag_set(s3, bucket, "k") == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
        {"Key": "empty", "Value": ""},
        {"Key": "sp", "Value": "a b c"},
    ]
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 4
    # unicode letters, numbers and the allowed symbols
    s3.put_object(Bucket=bucket, Key="u", Body=b"x", Tagging="%C3%A9t%C3%A9=%E6%97%A5+_.:/%3D%2B-@")
    assert tag_set(s3, bucket, "u") == [{"Key": "été", "Value": "日 _.:/=+-@"}]


def test_tagging_header_on_multipart_upload(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="team=red")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 100
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert tag_set(s3, bucket, "mp") == [{"Key": "team", "Value": "red"}]


def test_copy_tagging_directive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="default", CopySource=source)
    assert tag_set(s3, bucket, "default") == [{"Key": "a", "Value": "1"}]
    # under COPY an x-amz-tagging header is ignored, as S3 does
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=source, Tagging="z=9")
    assert tag_set(s3, bucket, "copy") == [{"Key": "a", "Value": "1"}]
    s3.copy_object(
        Bucket=bucket, Key="replace", CopySource=source, TaggingDirective="REPLACE", Tagging="z=9"
    )
    assert tag_set(s3, bucket, "replace") == [{"Key": "z", "Value": "9"}]
    s3.copy_object(Bucket=bucket, Key="cleared", CopySource=source, TaggingDirective="REPLACE")
    assert tag_set(s3, bucket, "cleared") == []
    expect_error(
        "InvalidArgument",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="bad",
        CopySource=source,
        TaggingDirective="MOVE",
    )


def test_object_tags_per_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="v=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2", Tagging="v=2")["VersionId"]
    answer = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert answer["TagSet"] == [{"Key": "v", "Value": "1"}]
    assert answer["VersionId"] == v1
    put = s3.put_object_tagging(
        Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "old", "Value": "y"}]}
    )
    assert put["VersionId"] == v1
    assert tag_set(s3, bucket, "k", VersionId=v1) == [{"Key": "old", "Value": "y"}]
    assert tag_set(s3, bucket, "k") == [{"Key": "v", "Value": "2"}]
    assert tag_set(s3, bucket, "k", VersionId=v2) == [{"Key": "v", "Value": "2"}]
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert deleted["VersionId"] == v1
    assert tag_set(s3, bucket, "k", VersionId=v1) == []
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v2)["TagCount"] == 1


def test_tagging_missing_object(s3: Any, bucket: str) -> None:
    expect_error("NoSuchKey", 404, s3.get_object_tagging, Bucket=bucket, Key="ghost")
    expect_error(
        "NoSuchKey",
        404,
        s3.put_object_tagging,
        Bucket=bucket,
        Key="ghost",
        Tagging={"TagSet": TAGS},
    )
    assert keys_of(s3, bucket) == []
    expect_error("NoSuchBucket", 404, s3.get_object_tagging, Bucket=bucket + "-none", Key="k")


def test_writes_in_place_to_a_delete_marker_are_405(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    """A key whose latest version is a delete marker reads as missing (404 NoSuchKey) but
    refuses a write that changes its current version in place (PutObjectTagging,
    DeleteObjectTagging, PutObjectAcl) with 405, as a marker named by its version id
    refuses every request. The version under the marker keeps its tags."""
    seaweedfs_deviates(request, "a delete marker's 404 carries no x-amz-delete-marker header")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="keep=me")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    exc = expect_error("NoSuchKey", 404, s3.get_object_tagging, Bucket=bucket, Key="k")
    assert exc.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    expect_error("NoSuchKey", 404, s3.get_object_acl, Bucket=bucket, Key="k")
    writes: list[tuple[Any, dict[str, Any]]] = [
        (s3.put_object_tagging, {"Tagging": {"TagSet": TAGS}}),
        (s3.delete_object_tagging, {}),
        (s3.put_object_acl, {"ACL": "private"}),
    ]
    for call, kwargs in writes:
        expect_error("MethodNotAllowed", 405, call, Bucket=bucket, Key="k", **kwargs)
    for call, kwargs in [(s3.get_object_tagging, {}), *writes[:2]]:
        expect_error(
            "MethodNotAllowed", 405, call, Bucket=bucket, Key="k", VersionId=marker, **kwargs
        )
    assert tag_set(s3, bucket, "k", VersionId=v1) == [{"Key": "keep", "Value": "me"}]


TOO_LONG_KEY = "k" * 129
TOO_LONG_VALUE = "v" * 257


@pytest.mark.parametrize(
    ("tags", "code", "message"),
    [
        (
            [{"Key": f"k{i}", "Value": "v"} for i in range(11)],
            "BadRequest",
            "Object tags cannot be greater than 10",
        ),
        (
            [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
            "InvalidTag",
            "Cannot provide multiple Tags with the same key",
        ),
        (
            [{"Key": "aws:cloudformation", "Value": "1"}],
            "InvalidTag",
            "Your TagKey cannot be prefixed with aws:",
        ),
        (
            [{"Key": TOO_LONG_KEY, "Value": "1"}],
            "InvalidTag",
            "The TagKey you have provided is too long, max 128",
        ),
        (
            [{"Key": "k", "Value": TOO_LONG_VALUE}],
            "InvalidTag",
            "The TagValue you have provided is too long, max 256",
        ),
        ([{"Key": "a,b", "Value": "1"}], "InvalidTag", "The TagKey you have provided is invalid"),
        ([{"Key": "k", "Value": "x;y"}], "InvalidTag", "The TagValue you have provided is invalid"),
    ],
    ids=["eleven", "duplicate", "aws-prefix", "long-key", "long-value", "key-char", "value-char"],
)
def test_object_tag_limits(
    s3: Any, bucket: str, tags: list[dict[str, str]], code: str, message: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="keep=me")
    exc = expect_error(
        code, 400, s3.put_object_tagging, Bucket=bucket, Key="k", Tagging={"TagSet": tags}
    )
    assert exc.response["Error"]["Message"] == message
    assert tag_set(s3, bucket, "k") == [{"Key": "keep", "Value": "me"}]


def test_object_tag_limits_at_the_edge(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    """10 tags, 128-character keys and 256-character values are accepted; the limits count
    UTF-16 code units (an astral character is two)."""
    edge = [{"Key": f"{i}" + "k" * 127, "Value": "v" * 256} for i in range(10)]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": edge})
    assert len(tag_set(s3, bucket, "k")) == 10
    astral = "\U0001d400"  # MATHEMATICAL BOLD CAPITAL A: a letter, two UTF-16 units
    at_limit = {"TagSet": [{"Key": astral * 64, "Value": "v"}]}
    if seaweedfs(request):
        # SeaweedFS deviation: it counts UTF-8 bytes (256 here) and refuses the key
        expect_error(
            "InvalidTag", 400, s3.put_object_tagging, Bucket=bucket, Key="k", Tagging=at_limit
        )
    else:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=at_limit)
    expect_error(
        "InvalidTag",
        400,
        s3.put_object_tagging,
        Bucket=bucket,
        Key="k",
        Tagging={"TagSet": [{"Key": astral * 64 + "k", "Value": "v"}]},
    )


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("&".join(f"k{i}=v" for i in range(11)), "BadRequest"),
        ("a=1&a=2", "InvalidArgument"),
        ("TagSet=[{Key=string,Value=string}]", "InvalidArgument"),
        ("aws%3Ax=1", "InvalidTag"),
        ("k=" + "v" * 257, "InvalidTag"),
        ("TagSet%3D%5B%7BKey%3Dstring%7D%5D", "InvalidTag"),
    ],
    ids=["eleven", "repeated-name", "two-equals", "aws-prefix", "long-value", "bad-characters"],
)
def test_tagging_header_errors(s3: Any, bucket: str, header: str, code: str) -> None:
    status = 400
    expect_error(code, status, s3.put_object, Bucket=bucket, Key="k", Body=b"x", Tagging=header)
    expect_error(code, status, s3.create_multipart_upload, Bucket=bucket, Key="k", Tagging=header)
    assert keys_of(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_malformed_tagging_documents(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for body in (
        b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",  # no Value
        b"<Tagging><Tag><Key>a</Key><Value>1</Value></Tag></Tagging>",  # no TagSet
        b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><X/></Tag></TagSet></Tagging>",
        b"<Other/>",
        b"<Tagging>",
    ):
        path = f"/{bucket}/k?tagging"
        answer = raw_request(
            any_gateway, "PUT", path, body=body, headers=sign(any_gateway, "PUT", path, body=body)
        )
        assert answer.status == 400, body
        assert b"<Code>MalformedXML</Code>" in answer.body, answer.body


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)
    tags = [{"Key": f"t{i:02d}", "Value": str(i)} for i in range(50)]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": list(reversed(tags))})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "only", "Value": ""}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "only", "Value": ""}]
    answer = s3.delete_bucket_tagging(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)
    # an empty tag set removes the tags too
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags[:1]})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []})
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)


def test_bucket_tag_limits(s3: Any, bucket: str) -> None:
    many = [{"Key": f"t{i}", "Value": "v"} for i in range(51)]
    exc = expect_error(
        "BadRequest", 400, s3.put_bucket_tagging, Bucket=bucket, Tagging={"TagSet": many}
    )
    assert exc.response["Error"]["Message"] == "Bucket tag count cannot be greater than 50"
    exc = expect_error(
        "InvalidTag",
        400,
        s3.put_bucket_tagging,
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]},
    )
    assert exc.response["Error"]["Message"] == "System tags cannot be added/updated by requester"
    expect_error(
        "InvalidTag",
        400,
        s3.put_bucket_tagging,
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]},
    )
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)


def test_bucket_tagging_needs_a_bucket(s3: Any, bucket: str) -> None:
    ghost = bucket + "-ghost"
    expect_error("NoSuchBucket", 404, s3.put_bucket_tagging, Bucket=ghost, Tagging={"TagSet": TAGS})
    expect_error("NoSuchBucket", 404, s3.get_bucket_tagging, Bucket=ghost)
    assert ghost not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_tagging_scopes(gateway: Gateway) -> None:
    """Reading tags needs read:objects, writing them write:objects; bucket tags the bucket
    scopes (the HTTP gateway: scopes do not depend on the backend)."""
    admin = gateway.client()
    name = unique("tagscope")
    admin.create_bucket(Bucket=name)
    admin.put_object(Bucket=name, Key="k", Body=b"x", Tagging="a=1")
    reader_key = make_key(gateway, scopes=["read:objects", "read:buckets"])
    writer_key = make_key(gateway, scopes=["write:objects"])
    reader = gateway.client(reader_key["id"], reader_key["secret"])
    writer = gateway.client(writer_key["id"], writer_key["secret"])
    assert tag_set(reader, name, "k") == [{"Key": "a", "Value": "1"}]
    expect_error(
        "AccessDenied",
        403,
        reader.put_object_tagging,
        Bucket=name,
        Key="k",
        Tagging={"TagSet": TAGS},
    )
    expect_error("AccessDenied", 403, reader.delete_object_tagging, Bucket=name, Key="k")
    expect_error("AccessDenied", 403, writer.get_object_tagging, Bucket=name, Key="k")
    writer.put_object_tagging(Bucket=name, Key="k", Tagging={"TagSet": TAGS})
    writer.delete_object_tagging(Bucket=name, Key="k")
    expect_error(
        "AccessDenied",
        403,
        reader.put_bucket_tagging,
        Bucket=name,
        Tagging={"TagSet": TAGS},
    )
    admin.put_bucket_tagging(Bucket=name, Tagging={"TagSet": TAGS})
    assert reader.get_bucket_tagging(Bucket=name)["TagSet"] == TAGS
    expect_error("AccessDenied", 403, writer.get_bucket_tagging, Bucket=name)


def test_policy_denying_put_object_tagging_covers_tagged_puts(gateway: Gateway) -> None:
    """S3 asks for s3:PutObjectTagging as well when PutObject carries x-amz-tagging."""
    admin = gateway.client()
    name = unique("tagdeny")
    admin.create_bucket(Bucket=name)
    admin.put_bucket_policy(
        Bucket=name,
        Policy=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",'
            f'"Action":"s3:PutObjectTagging","Resource":"arn:aws:s3:::{name}/*"}}]}}'
        ),
    )
    admin.put_object(Bucket=name, Key="plain", Body=b"x")
    expect_error(
        "AccessDenied", 403, admin.put_object, Bucket=name, Key="t", Body=b"x", Tagging="a=1"
    )
    assert keys_of(admin, name) == ["plain"]
