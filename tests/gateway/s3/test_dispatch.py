"""The S3 request path in-process: routing, the request object, authorization, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_s3_app
from gateway.bootstrap import ensure_admin
from tests.gateway.s3.conftest import ROOT, error_code, make_bucket, make_config

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _keys(body: bytes) -> list[str]:
    root = ElementTree.fromstring(body)
    return [e.findtext(f"{NS}Key") or "" for e in root.iter(f"{NS}Contents")]


async def test_plus_in_a_query_value_is_a_space(s3: TestClient[Any, Any]) -> None:
    """Routing reads the query as the signature does and as S3 does: form-decoded, a raw
    ``+`` a space (object_store's listings), ``%2B`` a plus (botocore's)."""
    bucket = await make_bucket(s3)
    for key in ("a+b/1", "a b/1"):
        assert (await s3.put(f"/{bucket}/{key.replace(' ', '%20')}", headers=ROOT)).status == 200
    for raw, listed in (("a+b", "a b/1"), ("a%20b", "a b/1"), ("a%2Bb", "a+b/1")):
        response = await s3.get(f"/{bucket}?list-type=2&prefix={raw}", headers=ROOT)
        assert _keys(await response.read()) == [listed], raw


async def test_a_query_name_given_twice_is_refused(s3: TestClient[Any, Any]) -> None:
    """The signature covers both values, so neither is taken (docs/security.md)."""
    bucket = await make_bucket(s3)
    for key in ("x1", "y1"):
        await s3.put(f"/{bucket}/{key}", headers=ROOT)
    listing = await s3.get(f"/{bucket}?list-type=2&prefix=x&prefix=y", headers=ROOT)
    assert await error_code(listing, 400) == "InvalidArgument"


async def test_invalid_utf8_in_path_or_query_is_invalid_uri(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    assert await error_code(await s3.get(f"/{bucket}/%ff", headers=ROOT), 400) == "InvalidURI"
    response = await s3.get(f"/{bucket}?list-type=2&prefix=%ff", headers=ROOT)
    assert await error_code(response, 400) == "InvalidURI"


async def test_unimplemented_subresource_and_wrong_method(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    response = await s3.put(f"/{bucket}?website", data=b"<WebsiteConfiguration/>", headers=ROOT)
    assert await error_code(response, 501) == "NotImplemented"
    assert await error_code(await s3.post("/", headers=ROOT), 405) == "MethodNotAllowed"


async def test_anonymous_is_denied(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    assert await error_code(await s3.get(f"/{bucket}"), 403) == "AccessDenied"
    unsupported = await s3.get(f"/{bucket}", headers={"Authorization": "Basic eDp5"})
    assert await error_code(unsupported, 400) == "InvalidRequest"


async def test_range_with_part_number_and_bad_part_numbers(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/k", data=b"0123456789", headers=ROOT)
    both = await s3.get(f"/{bucket}/k?partNumber=1", headers={**ROOT, "Range": "bytes=0-1"})
    assert await error_code(both, 400) == "InvalidRequest"
    for bad in ("0", "10001", "x", "-1"):
        response = await s3.get(f"/{bucket}/k?partNumber={bad}", headers=ROOT)
        assert await error_code(response, 400) == "InvalidArgument"
    part = await s3.get(f"/{bucket}/k?partNumber=1", headers=ROOT)
    assert part.status == 206 and await part.read() == b"0123456789"
    # A Range header on an operation that does not read bytes means nothing.
    listing = await s3.get(f"/{bucket}?list-type=2", headers={**ROOT, "Range": "bytes=0-1"})
    assert listing.status == 200


async def test_version_ids(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/k", data=b"v", headers=ROOT)
    empty = await s3.get(f"/{bucket}/k?versionId=", headers=ROOT)
    assert await error_code(empty, 400) == "InvalidArgument"
    null = await s3.get(f"/{bucket}/k?versionId=null", headers=ROOT)
    assert null.status == 200 and await null.read() == b"v"
    unknown = await s3.get(f"/{bucket}/k?versionId=abc", headers=ROOT)
    assert await error_code(unknown, 400) == "InvalidArgument"


async def test_copy_source_parsed_once_for_authorization_and_copy(
    s3: TestClient[Any, Any],
) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/src%20key", data=b"payload", headers=ROOT)
    copy = await s3.put(
        f"/{bucket}/dst", headers={**ROOT, "x-amz-copy-source": f"/{bucket}/src%20key"}
    )
    assert copy.status == 200, await copy.text()
    assert copy.headers.get("x-amz-copy-source-version-id") is None
    assert await (await s3.get(f"/{bucket}/dst", headers=ROOT)).read() == b"payload"
    for bad in (f"/{bucket}", "/", f"/{bucket}/src?tagging", "/BAD_bucket/src"):
        response = await s3.put(f"/{bucket}/dst", headers={**ROOT, "x-amz-copy-source": bad})
        assert await error_code(response, 400) in {"InvalidArgument", "InvalidBucketName"}


async def test_forwarded_host_and_proto_shape_the_multipart_location(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    config = make_config(tmp_path)
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, trusted_forwarded_headers=True)
    )
    await ensure_admin(config)
    s3: TestClient[Any, Any] = await aiohttp_client(make_s3_app(Shared(config)))
    bucket = await make_bucket(s3)
    forwarded = {**ROOT, "X-Forwarded-Host": "files.example.com", "X-Forwarded-Proto": "https"}
    created = await s3.post(f"/{bucket}/a%20b?uploads", headers=forwarded)
    upload_id = ElementTree.fromstring(await created.read()).findtext(f"{NS}UploadId")
    part = await s3.put(f"/{bucket}/a%20b?partNumber=1&uploadId={upload_id}", data=b"x")
    assert part.status == 403  # no credentials: the part is refused
    part = await s3.put(
        f"/{bucket}/a%20b?partNumber=1&uploadId={upload_id}", data=b"x", headers=forwarded
    )
    etag = part.headers["ETag"]
    document = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    )
    done = await s3.post(f"/{bucket}/a%20b?uploadId={upload_id}", data=document, headers=forwarded)
    body = await done.read()
    assert done.status == 200, body
    location = ElementTree.fromstring(body).findtext(f"{NS}Location")
    assert location == f"https://files.example.com/{bucket}/a%20b"
