"""Class: a body framed in a way S3 does not take is refused before it is read.

S3 takes ``Transfer-Encoding: chunked`` only for the aws-chunked streaming uploads, which
declare themselves in ``x-amz-content-sha256`` (``STREAMING-*``: what boto3, the aws CLI
and the JS SDK send for bodies of unknown length and trailing checksums, PITFALLS.md).
Any other chunked request (a presigned PUT from a browser or ``curl -T -``, a signed
request with a hex SHA-256 or ``UNSIGNED-PAYLOAD``, a Bearer request) is 501
``NotImplemented`` "A header you provided implies functionality that is not implemented"
with ``Header`` ``Transfer-Encoding``, as S3 answers it. Before, the gateway de-chunked
such a body and stored it. Real gateway, raw HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import sign
from tests.security.rawhttp import exchange, signed_unsigned_trailer_headers

CHUNKED = [("Transfer-Encoding", "chunked")]
BODY = b"5\r\nhello\r\n0\r\n\r\n"


def _expect_refused(response: Any, resource: str | None = None) -> None:
    assert (response.status, response.error_code()) == (501, "NotImplemented"), response.body
    assert response.xml().findtext("Header") == "Transfer-Encoding"
    if resource is not None:  # a refusal while the request is parsed names its path too
        assert response.xml().findtext("Resource") == resource


@pytest.mark.parametrize("auth", ["presigned", "unsigned-payload", "bearer"])
def test_a_plain_chunked_body_is_not_implemented(
    gateway: Gateway, s3: Any, bucket: str, auth: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    target = f"/{bucket}/k"
    headers: list[tuple[str, str]]
    if auth == "presigned":
        url = urlsplit(
            s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
        )
        target, headers = f"{url.path}?{url.query}", []
    elif auth == "unsigned-payload":
        signed = sign(gateway, "PUT", target, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        headers = [(n, v) for n, v in signed.items() if n.lower() != "content-length"]
    else:
        headers = [("Authorization", f"Bearer {gateway.secret_key}")]
    refused = exchange(gateway, "PUT", target, [*headers, *CHUNKED], body=BODY)
    _expect_refused(refused, f"/{bucket}/k")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
    assert f"path=/{bucket}/k op=- principal=- status=501" in gateway.log()


def test_the_sdks_aws_chunked_uploads_still_stream(gateway: Gateway, s3: Any, bucket: str) -> None:
    """boto3's upload over HTTPS (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, chunked, no
    ``Content-Length``) is what chunked framing is for: taken."""
    headers = signed_unsigned_trailer_headers(gateway, f"/{bucket}/k", 5)
    trailer = b"x-amz-checksum-crc32:NhCmhg==\r\n\r\n"
    body = b"5\r\nhello\r\n0\r\n" + trailer
    chunked_body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    response = exchange(gateway, "PUT", f"/{bucket}/k", [*headers.items(), *CHUNKED], chunked_body)
    assert response.status == 200, response.body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"


def test_a_refused_absolute_form_target_names_its_path(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """An absolute-form target refused while parsed names the path a URL parser reads
    (``<Resource>`` and the access log carried the scheme and authority too)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    target = f"http://127.0.0.1:{gateway.s3_port}/{bucket}/k"
    headers = [("Authorization", f"Bearer {gateway.secret_key}")]
    _expect_refused(exchange(gateway, "PUT", target, [*headers, *CHUNKED], BODY), f"/{bucket}/k")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
