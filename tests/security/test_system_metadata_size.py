"""Class: the metadata one object keeps is bounded, system metadata as user metadata.

User metadata was held to S3's 2 KB, but each system header an object stores
(``Content-Type``, ``Cache-Control``, ``Content-Disposition``, ``Content-Encoding``,
``Content-Language``, ``Expires``) only to the listener's 8,190 bytes per field: some
48 KiB kept with every version, where AWS refuses a PUT whose header section passes 8 KB
(``400 RequestHeaderSectionTooLarge``, ``MaxSizeAllowed`` 8192). Past 8,192 bytes
together (names and values) a write is now refused with that answer, and the object
already there stays as it was: PutObject, CreateMultipartUpload and CopyObject that
replaces the metadata alike; and the ``/v1`` upload, which stores a ``Content-Type``,
by the same count (its own answer: 400 ``ValidationError`` naming the header). Real
gateway process; boto3 and raw HTTP.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form
from tests.e2e.s3util import expect_error
from tests.security.rawhttp import exchange

# 13 + 4,100 + 19 + 4,100 = 8,232 bytes: past 8,192, each field well within the listener's
TOO_MUCH = {"CacheControl": "c" * 4100, "ContentDisposition": "d" * 4100}
# 13 + 4,000 + 19 + 4,000 + 12 + 10 = 8,054: within
FITS = {"CacheControl": "c" * 4000, "ContentDisposition": "d" * 4000, "ContentType": "text/plain"}


def _kept_intact(s3: Any, bucket: str) -> None:
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ContentType"] == "text/old" and "CacheControl" not in head
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


def test_too_much_system_metadata_is_refused_and_the_old_object_stays(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", ContentType="text/old")
    error = expect_error(
        "RequestHeaderSectionTooLarge", 400, s3.put_object, Bucket=bucket, Key="k", **TOO_MUCH
    )
    assert error.response["Error"]["MaxSizeAllowed"] == "8192"
    _kept_intact(s3, bucket)
    expect_error(
        "RequestHeaderSectionTooLarge",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
        MetadataDirective="REPLACE",
        **TOO_MUCH,
    )
    _kept_intact(s3, bucket)
    expect_error(
        "RequestHeaderSectionTooLarge",
        400,
        s3.create_multipart_upload,
        Bucket=bucket,
        Key="k",
        **TOO_MUCH,
    )
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_system_metadata_within_the_bound_is_kept(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="fits", Body=b"x", **FITS)
    head = s3.head_object(Bucket=bucket, Key="fits")
    assert (head["CacheControl"], head["ContentDisposition"]) == ("c" * 4000, "d" * 4000)


def test_raw_headers_past_the_bound_are_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", ContentType="text/old")
    headers = [
        ("Authorization", f"Bearer {gateway.secret_key}"),
        ("Content-Type", "t" * 2000),
        ("Content-Language", "l" * 2000),
        ("Content-Encoding", "e" * 2000),
        ("Expires", "x" * 2200),
    ]
    response = exchange(gateway, "PUT", f"/{bucket}/k", headers, b"new")
    assert response.status == 400, response.body
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in response.body
    assert b"<MaxSizeAllowed>8192</MaxSizeAllowed>" in response.body
    _kept_intact(s3, bucket)
    # the same headers but one fit: 12 + 2,000 + 16 + 2,000 + 16 + 2,000 = 6,044 bytes
    response = exchange(gateway, "PUT", f"/{bucket}/k", headers[:4], b"new")
    assert response.status == 200, response.body
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLanguage"] == "l" * 2000


def test_a_post_objects_form_fields_are_held_to_the_same_bound(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    v4 = gateway.client(signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", ContentType="text/old")
    fields = {"Cache-Control": "c" * 4100, "Content-Disposition": "d" * 4100}
    # the values go once, in the form (the policy allows any), within its 20 KiB
    allowed = [["starts-with", f"${name}", ""] for name in fields]
    signed = v4.generate_presigned_post(Bucket=bucket, Key="k", Fields=fields, Conditions=allowed)[
        "fields"
    ]
    reply = post_form(gateway, bucket, signed, b"new")
    assert reply.status == 400, reply.body
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in reply.body
    _kept_intact(s3, bucket)


def test_a_rest_uploads_content_type_is_held_to_the_same_bound(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", ContentType="text/old")
    target = f"/v1/buckets/{bucket}/objects/content?key={quote('k')}"
    auth = ("Authorization", f"Bearer {gateway.secret_key}")

    def upload(content_type: str) -> Any:
        headers = [auth, ("Content-Type", content_type)]
        return exchange(gateway, "PUT", target, headers, b"new", port=gateway.api_port)

    # 12 + 8,181 = 8,193 bytes: one past the bound, the header well within the listener's
    response = upload("t" * 8181)
    assert response.status == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["code"] == "ValidationError"
    assert error["details"] == {"field": "Content-Type", "limit": 8192}
    _kept_intact(s3, bucket)
    # 12 + 8,180 = 8,192 bytes: the bound itself is kept
    response = upload("t" * 8180)
    assert response.status == 201, response.body
    assert s3.head_object(Bucket=bucket, Key="k")["ContentType"] == "t" * 8180
