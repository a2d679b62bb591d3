"""Class: ``x-amz-copy-source`` is percent-decoded strictly, or the copy is refused.

The header is URL-encoded (S3 API reference, CopyObject). It was decoded leniently: a
``%`` not followed by two hex digits stayed a ``%`` (``/b/a%`` and ``/b/a%25`` named the
same source) and escapes that are not UTF-8 became U+FFFD (``/b/k%ff`` named the key
``k\\ufffd``), so one source had several spellings and malformed ones were served. S3
answers ``400 InvalidArgument`` "Invalid copy source encoding" (paws-r/paws #819, a key
holding ``%`` sent unencoded); the gateway now does the same for CopyObject and
UploadPartCopy, before anything is read or written.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request, sign

MALFORMED = [
    "a%",  # a % at the end
    "a%zz",  # a % before non-hex
    "a%2",  # one hex digit
    "k%ff",  # not UTF-8
    "k%ED%A0%80",  # an encoded surrogate (not UTF-8)
    "k%C0%AF",  # an overlong '/'
]


def _copy(gw: Gateway, path: str, source: str) -> RawResponse:
    headers = sign(gw, "PUT", path, headers={"x-amz-copy-source": source})
    return raw_request(gw, "PUT", path, headers=headers)


@pytest.mark.parametrize("key", MALFORMED)
def test_copy_object_from_a_malformed_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str, key: str
) -> None:
    for name in ("a%", "a%zz", "a%2", "k\ufffd"):
        s3.put_object(Bucket=bucket, Key=name, Body=b"source")
    reply = _copy(gateway, f"/{bucket}/dst", f"/{bucket}/{key}")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert b"Invalid copy source encoding" in reply.body
    assert "dst" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]


def test_malformed_version_id_of_a_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"source")
    reply = _copy(gateway, f"/{bucket}/dst", f"/{bucket}/k?versionId=%zz")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert b"Invalid copy source encoding" in reply.body


def test_upload_part_copy_from_a_malformed_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a%", Body=b"source")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    reply = _copy(gateway, f"/{bucket}/dst?partNumber=1&uploadId={upload}", f"/{bucket}/a%")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=upload).get("Parts", []) == []


def test_well_encoded_sources_still_copy(gateway: Gateway, s3: Any, bucket: str) -> None:
    """``%25`` is a percent, UTF-8 escapes and raw non-escaped characters decode as before."""
    for name in ("a%", "caf\u00e9 x+y"):
        s3.put_object(Bucket=bucket, Key=name, Body=name.encode())
    for source, name in ((f"/{bucket}/a%25", "a%"), (f"{bucket}/caf%C3%A9%20x+y", "caf\u00e9 x+y")):
        reply = _copy(gateway, f"/{bucket}/dst", source)
        assert reply.status == 200, reply.body
        assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == name.encode()
