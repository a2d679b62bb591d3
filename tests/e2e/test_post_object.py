"""POST Object (browser form uploads) on every backend, over HTTP and HTTPS: boto3's
``generate_presigned_post`` output used as is, SigV2 forms, the policy's conditions, the
answers S3 gives (``success_action_status``, ``success_action_redirect``) and its errors.
Every refused form stores nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.checksum_oracle import NEW_ALGORITHMS, checksum
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form, presigned_post, sigv2_fields
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import keys_of, raw_request

MiB = 1024 * 1024


@pytest.fixture(name="v4")
def v4_client(any_gateway: Gateway) -> Any:
    """A client whose ``generate_presigned_post`` signs with SigV4 (boto3's default for
    S3 without a signature_version is the SigV2 form)."""
    return any_gateway.client(signature_version="s3v4")


@pytest.mark.parametrize("signature", ["s3v4", "default"])
def test_generate_presigned_post_works_as_is(
    any_gateway: Gateway, s3: Any, bucket: str, signature: str
) -> None:
    signer = any_gateway.client(signature_version="s3v4") if signature == "s3v4" else s3
    fields = presigned_post(signer, bucket, "uploads/photo.jpg")
    assert ("x-amz-signature" in fields) == (signature == "s3v4")
    data = os.urandom(3000)
    reply = post_form(any_gateway, bucket, fields, data)
    assert reply.status == 204, reply.body
    assert reply.body == b""
    etag = reply.headers["ETag"]
    assert etag == f'"{hashlib.md5(data).hexdigest()}"'
    assert reply.headers["Location"] == f"{any_gateway.s3_url}/{bucket}/uploads/photo.jpg"
    got = s3.get_object(Bucket=bucket, Key="uploads/photo.jpg")
    assert got["Body"].read() == data
    assert got["ETag"] == etag
    assert got["ContentType"] == "binary/octet-stream"  # the part's own type is not a field


def test_filename_variable_and_metadata(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    fields = presigned_post(
        s3,
        bucket,
        "user-7/${filename}",
        Fields={
            "Content-Type": "image/png",
            "x-amz-meta-owner": "user-7",
            "Cache-Control": "max-age=60",
        },
        Conditions=[
            ["starts-with", "$Content-Type", "image/"],
            {"x-amz-meta-owner": "user-7"},
            {"Cache-Control": "max-age=60"},
        ],
    )
    reply = post_form(any_gateway, bucket, fields, b"\x89PNG...", filename="cat picture.png")
    assert reply.status == 204, reply.body
    head = s3.head_object(Bucket=bucket, Key="user-7/cat picture.png")
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"owner": "user-7"}
    assert head["CacheControl"] == "max-age=60"


def test_a_metadata_field_with_an_empty_name_is_left_out(
    any_gateway: Gateway, s3: Any, bucket: str
) -> None:
    """A form field ``x-amz-meta-`` is left out and counted, as the header is on PutObject
    (``x-amz-missing-meta`` on reads); it used to be stored under an empty name."""
    fields = presigned_post(
        s3,
        bucket,
        "k",
        Fields={"x-amz-meta-": "empty", "x-amz-meta-ok": "v"},
        Conditions=[{"x-amz-meta-": "empty"}, {"x-amz-meta-ok": "v"}],
    )
    reply = post_form(any_gateway, bucket, fields, b"data")
    assert reply.status == 204, reply.body
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"ok": "v"}
    assert head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-missing-meta") == "1"


@pytest.mark.parametrize(("status", "body"), [("200", False), ("201", True), ("204", False)])
def test_success_action_status(
    any_gateway: Gateway, s3: Any, bucket: str, status: str, body: bool
) -> None:
    fields = presigned_post(
        s3,
        bucket,
        "k",
        Fields={"success_action_status": status},
        Conditions=[{"success_action_status": status}],
    )
    reply = post_form(any_gateway, bucket, fields, b"data")
    assert reply.status == int(status), reply.body
    if body:
        doc = ET.fromstring(reply.body)
        assert doc.tag == "PostResponse"
        assert doc.findtext("Bucket") == bucket
        assert doc.findtext("Key") == "k"
        assert doc.findtext("ETag") == reply.headers["ETag"]
        assert doc.findtext("Location") == f"{any_gateway.s3_url}/{bucket}/k"
    else:
        assert reply.body == b""


def test_success_action_redirect(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    target = "https://app.example.com/done?from=form"
    fields = presigned_post(
        s3,
        bucket,
        "doc.txt",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "https://app.example.com/"]],
    )
    reply = post_form(any_gateway, bucket, fields, b"text")
    assert reply.status == 303, reply.body
    location = urlsplit(reply.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "app.example.com",
        "/done",
    )
    query = parse_qs(location.query)
    assert query["from"] == ["form"]
    assert query["bucket"] == [bucket]
    assert query["key"] == ["doc.txt"]
    assert query["etag"] == [f'"{hashlib.md5(b"text").hexdigest()}"']


def test_sigv2_form(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    fields = sigv2_fields(any_gateway.access_key, any_gateway.secret_key, bucket, "v2.txt")
    reply = post_form(any_gateway, bucket, fields, b"legacy")
    assert reply.status == 204, reply.body
    assert s3.get_object(Bucket=bucket, Key="v2.txt")["Body"].read() == b"legacy"
    fields["signature"] = base64.b64encode(b"x" * 20).decode()
    reply = post_form(any_gateway, bucket, fields, b"legacy")
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")


def test_content_length_range(any_gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = presigned_post(v4, bucket, "sized", Conditions=[["content-length-range", 10, 1000]])
    reply = post_form(any_gateway, bucket, fields, b"x" * 1001)
    assert (reply.status, reply.error_code()) == (400, "EntityTooLarge")
    assert reply.xml().findtext("MaxSizeAllowed") == "1000"
    reply = post_form(any_gateway, bucket, fields, b"x" * 9)
    assert (reply.status, reply.error_code()) == (400, "EntityTooSmall")
    assert reply.xml().findtext("MinSizeAllowed") == "10"
    assert keys_of(s3, bucket) == []
    assert post_form(any_gateway, bucket, fields, b"x" * 1000).status == 204
    assert post_form(any_gateway, bucket, fields, b"x" * 10).status == 204


def test_policy_violations_are_access_denied(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    fields = presigned_post(
        s3,
        bucket,
        "user-1/${filename}",
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[["starts-with", "$Content-Type", "image/"]],
    )
    # key outside the prefix the policy allows
    bad_key = {**fields, "key": "user-2/x.jpg"}
    reply = post_form(any_gateway, bucket, bad_key, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert reply.xml().findtext("Message") == (
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user-1/"]'
    )
    # a Content-Type the policy does not allow
    reply = post_form(any_gateway, bucket, {**fields, "Content-Type": "text/html"}, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    # a field no condition names
    reply = post_form(any_gateway, bucket, {**fields, "x-amz-meta-extra": "1"}, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert reply.xml().findtext("Message") == (
        "Invalid according to Policy: Extra input fields: x-amz-meta-extra"
    )
    # x-ignore- fields need no condition
    reply = post_form(any_gateway, bucket, {**fields, "x-ignore-tracking": "1"}, b"ok")
    assert reply.status == 204, reply.body
    assert keys_of(s3, bucket) == ["user-1/upload.bin"]


def test_expired_policy(any_gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = presigned_post(v4, bucket, "late", ExpiresIn=-10)
    reply = post_form(any_gateway, bucket, fields, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert reply.xml().findtext("Message") == "Invalid according to Policy: Policy expired."
    assert keys_of(s3, bucket) == []


def test_signature_and_credential_errors(
    any_gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    fields = presigned_post(v4, bucket, "k")
    reply = post_form(any_gateway, bucket, {**fields, "x-amz-signature": "0" * 64}, b"x")
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")
    other = any_gateway.client("AKIANOSUCHKEY0000000", "secret")
    reply = post_form(any_gateway, bucket, presigned_post(other, bucket, "k"), b"x")
    assert (reply.status, reply.error_code()) == (403, "InvalidAccessKeyId")
    missing = {k: v for k, v in fields.items() if k != "x-amz-credential"}
    reply = post_form(any_gateway, bucket, missing, b"x")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert reply.xml().findtext("ArgumentName") == "x-amz-credential"
    bad_policy = {**fields, "policy": "not base64!"}
    reply = post_form(any_gateway, bucket, bad_policy, b"x")
    assert reply.status == 403  # the signature covers the policy text: it no longer matches
    assert keys_of(s3, bucket) == []


def test_form_shape_errors(any_gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = presigned_post(v4, bucket, "k")
    reply = raw_request(
        any_gateway,
        "POST",
        f"/{bucket}",
        body=b"key=k",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.error_code()) == (412, "PreconditionFailed")
    assert reply.xml().findtext("Condition") == (
        "Bucket POST must be of the enclosure-type multipart/form-data"
    )
    boundary = "only-fields"
    no_file = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    reply = raw_request(
        any_gateway,
        "POST",
        f"/{bucket}",
        body=no_file + f"--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert (reply.status, reply.error_code()) == (400, "IncorrectNumberOfFilesInPostRequest")
    without_key = {k: v for k, v in fields.items() if k != "key"}
    reply = post_form(any_gateway, bucket, without_key, b"x")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert reply.xml().findtext("ArgumentName") == "key"
    reply = raw_request(
        any_gateway,
        "POST",
        f"/{bucket}",
        body=b"garbage without boundaries",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert (reply.status, reply.error_code()) == (400, "MalformedPOSTRequest")
    assert keys_of(s3, bucket) == []


@pytest.mark.parametrize("algorithm", ["SHA256", *NEW_ALGORITHMS])
def test_checksum_fields(any_gateway: Gateway, s3: Any, bucket: str, algorithm: str) -> None:
    data = b"checked bytes"
    good = checksum(algorithm, data)
    name = f"x-amz-checksum-{algorithm.lower()}"
    fields = presigned_post(
        s3,
        bucket,
        "sum",
        Fields={name: good},
        Conditions=[["starts-with", f"${name}", ""]],
    )
    reply = post_form(any_gateway, bucket, fields, data)
    assert reply.status == 204, reply.body
    assert reply.headers[name] == good
    head = s3.head_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == good
    reply = post_form(any_gateway, bucket, fields, b"other bytes")
    assert (reply.status, reply.error_code()) == (400, "BadDigest")
    assert s3.get_object(Bucket=bucket, Key="sum")["Body"].read() == data


def test_scopes_and_bucket_limits_apply(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    reader = make_key(any_gateway, scopes=["read:objects"])
    reply = post_form(
        any_gateway,
        bucket,
        presigned_post(any_gateway.client(reader["id"], reader["secret"]), bucket, "k"),
        b"x",
    )
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    limited = make_key(any_gateway, scopes=["write:objects"], buckets=["only-this-one"])
    client = any_gateway.client(limited["id"], limited["secret"])
    reply = post_form(any_gateway, bucket, presigned_post(client, bucket, "k"), b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert keys_of(s3, bucket) == []


def test_anonymous_form_needs_a_bucket_that_allows_it(
    any_gateway: Gateway, s3: Any, bucket: str
) -> None:
    reply = post_form(any_gateway, bucket, {"key": "anon.txt"}, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/drop/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert post_form(any_gateway, bucket, {"key": "drop/anon.txt"}, b"x").status == 204
    reply = post_form(any_gateway, bucket, {"key": "elsewhere.txt"}, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert keys_of(s3, bucket) == ["drop/anon.txt"]


def test_versioned_bucket_reports_the_version(
    any_gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    reply = post_form(any_gateway, bucket, presigned_post(v4, bucket, "v"), b"one")
    assert reply.status == 204, reply.body
    version = reply.headers["x-amz-version-id"]
    assert s3.head_object(Bucket=bucket, Key="v")["VersionId"] == version


def test_large_file_streams(any_gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    data = os.urandom(9 * MiB + 123)
    fields = presigned_post(v4, bucket, "big", Conditions=[["content-length-range", 0, 10 * MiB]])
    reply = post_form(any_gateway, bucket, fields, data)
    assert reply.status == 204, reply.body
    got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_post_with_an_origin_gets_cors_headers(
    any_gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["https://app.example.com"],
                    "AllowedMethods": ["POST"],
                    "ExposeHeaders": ["ETag", "Location"],
                }
            ]
        },
    )
    reply = post_form(
        any_gateway,
        bucket,
        presigned_post(v4, bucket, "x"),
        b"x",
        headers={"Origin": "https://app.example.com"},
    )
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert reply.headers["Access-Control-Expose-Headers"] == "ETag, Location"
    # refused forms are readable by the page too
    reply = post_form(
        any_gateway,
        bucket,
        {**presigned_post(v4, bucket, "x"), "x-amz-signature": "0" * 64},
        b"x",
        headers={"Origin": "https://app.example.com"},
    )
    assert reply.status == 403
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def tagging_document(pairs: list[tuple[str, str]]) -> str:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f"<Tagging><TagSet>{tags}</TagSet></Tagging>"


def tagged_form(s3: Any, bucket: str, key: str, document: str) -> dict[str, str]:
    return presigned_post(
        s3, bucket, key, Fields={"tagging": document}, Conditions=[{"tagging": document}]
    )


def test_tagging_field_tags_the_object(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    document = tagging_document([("team", "a+b=c"), ("project", "blue sky")])
    reply = post_form(any_gateway, bucket, tagged_form(s3, bucket, "tagged", document), b"x")
    assert reply.status == 204, reply.body
    assert s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == [
        {"Key": "project", "Value": "blue sky"},
        {"Key": "team", "Value": "a+b=c"},
    ]
    assert s3.get_object(Bucket=bucket, Key="tagged")["TagCount"] == 2


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("<Tagging><TagSet><Tag><Key>k</Key></TagSet>", "MalformedXML"),
        (tagging_document([(f"k{n}", "v") for n in range(11)]), "BadRequest"),
        (tagging_document([("aws:reserved", "v")]), "InvalidTag"),
        (tagging_document([("same", "1"), ("same", "2")]), "InvalidTag"),
    ],
    ids=["malformed", "eleven-tags", "aws-prefix", "repeated-key"],
)
def test_bad_tagging_field_stores_nothing(
    any_gateway: Gateway, s3: Any, bucket: str, document: str, code: str
) -> None:
    reply = post_form(any_gateway, bucket, tagged_form(s3, bucket, "k", document), b"x")
    assert (reply.status, reply.error_code()) == (400, code), reply.body
    assert keys_of(s3, bucket) == []


def test_tagging_field_is_judged_like_x_amz_tagging(
    any_gateway: Gateway, s3: Any, bucket: str
) -> None:
    document = tagging_document([("a", "1")])
    # A field the policy does not name cannot tag anything.
    unsigned = {**presigned_post(s3, bucket, "k"), "tagging": document}
    reply = post_form(any_gateway, bucket, unsigned, b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert b"Extra input fields: tagging" in reply.body
    # Tagging on upload needs s3:PutObjectTagging as well as s3:PutObject.
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObjectTagging",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    reply = post_form(any_gateway, bucket, tagged_form(s3, bucket, "k", document), b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert post_form(any_gateway, bucket, presigned_post(s3, bucket, "k"), b"x").status == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
