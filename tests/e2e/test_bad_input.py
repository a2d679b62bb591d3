"""Bad input from a client gets a clear S3 error, never a 500 or a dropped connection."""

from __future__ import annotations

import base64
import hashlib
import socket
import uuid

import pytest

from tests.e2e.gateway_process import Gateway


def _raw(gw: Gateway, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gw.s3_port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"</Error>" not in data and b"\r\n\r\n" not in data[: data.find(b"\r\n\r\n") + 4]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        while b"<Error>" in data and b"</Error>" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _request(gw: Gateway, line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    head = [line, b"Host: 127.0.0.1", b"X-API-Key: " + gw.secret_key.encode()]
    head += list(headers)
    head.append(b"Content-Length: " + str(len(body)).encode())
    return _raw(gw, b"\r\n".join(head) + b"\r\n\r\n" + body)


@pytest.fixture(scope="module")
def bucket(gateway: Gateway) -> str:
    name = f"bad-{uuid.uuid4().hex[:12]}"
    s3 = gateway.client()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="obj", Body=b"old")
    return name


@pytest.mark.parametrize(
    "header",
    [
        b"x-amz-meta-a: \xff\xfe",
        b"Content-Type: text/\xed\xa0\x80",
    ],
)
def test_invalid_header_values_are_refused_and_nothing_is_stored(
    gateway: Gateway, bucket: str, header: bytes
) -> None:
    response = _request(gateway, f"PUT /{bucket}/obj HTTP/1.1".encode(), header, body=b"new")
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"<Code>InvalidArgument</Code>" in response
    assert gateway.client().get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"


def test_a_control_character_in_a_header_is_refused_by_the_http_parser(
    gateway: Gateway, bucket: str
) -> None:
    """Not valid HTTP: aiohttp's parser answers 400 before routing (plain text, not S3
    XML), the old object stays, and the log gets one line, not a traceback."""
    line = f"PUT /{bucket}/obj HTTP/1.1".encode()
    response = _request(gateway, line, b"Content-Disposition: a\x01", body=b"new")
    assert response.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), response
    assert gateway.client().get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"
    assert "malformed HTTP request refused" in gateway.log()


def test_response_override_cannot_inject_headers(gateway: Gateway, bucket: str) -> None:
    line = f"GET /{bucket}/obj?response-content-type=text%0d%0aX-Evil:%201 HTTP/1.1"
    response = _request(gateway, line.encode())
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"X-Evil" not in response.split(b"\r\n\r\n", 1)[0]
    assert b"<Code>InvalidArgument</Code>" in response


def test_path_that_is_not_utf8_is_invalid_uri(gateway: Gateway, bucket: str) -> None:
    response = _request(gateway, f"GET /{bucket}/%ff%fe HTTP/1.1".encode())
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"<Code>InvalidURI</Code>" in response


def test_xml_with_a_doctype_is_malformed(gateway: Gateway, bucket: str) -> None:
    body = b"<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Delete><Object><Key>&e;</Key></Object></Delete>"
    md5 = base64.b64encode(hashlib.md5(body).digest())
    line = f"POST /{bucket}?delete HTTP/1.1".encode()
    response = _request(gateway, line, b"Content-MD5: " + md5, body=body)
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"<Code>MalformedXML</Code>" in response
    assert b"root:" not in response


def test_no_traceback_for_any_of_it(gateway: Gateway, bucket: str) -> None:
    _request(gateway, f"PUT /{bucket}/x HTTP/1.1".encode(), b"x-amz-meta-a: \xff", body=b"1")
    assert "Traceback" not in gateway.log()


@pytest.mark.parametrize(
    ("md5", "code"),
    [("1B2M2Y8AsgTpgAmY7PhCfg==", b"BadDigest"), ("not-base64!", b"InvalidDigest")],
)
def test_delete_objects_document_digest_is_checked(
    gateway: Gateway, bucket: str, md5: str, code: bytes
) -> None:
    """The DeleteObjects document is verified once, by the body pipeline; nothing is
    deleted when its Content-MD5 is wrong or malformed."""
    document = b"<Delete><Object><Key>obj</Key></Object></Delete>"
    line = f"POST /{bucket}?delete HTTP/1.1".encode()
    response = _request(gateway, line, b"Content-MD5: " + md5.encode(), body=document)
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"<Code>" + code + b"</Code>" in response
    assert gateway.client().get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"


@pytest.mark.parametrize(
    "document",
    [
        b"<Delete><Object><Key>obj</Key></Object><Unknown/></Delete>",
        b"<Delete><Object><Key>obj</Key><Unknown>1</Unknown></Object></Delete>",
        b"<Delete><Object><Key>obj</Key><Key>other</Key></Object></Delete>",
        b"<Delete><Object><Key>obj</Key><VersionId>a</VersionId><VersionId>b</VersionId>"
        b"</Object></Delete>",
        b"<Delete><Object><VersionId>a</VersionId></Object></Delete>",
        b"<Delete><Object>obj</Object></Delete>",
        b"<Delete><Object><Key>obj</Key></Object><Quiet>yes</Quiet></Delete>",
        b"<Delete><Object><Key>obj</Key></Object><Quiet>1</Quiet></Delete>",
        b"<Delete><Object><Key>obj</Key></Object><Quiet>0</Quiet></Delete>",
        b"<Delete><Object><Key>obj</Key></Object><Quiet></Quiet></Delete>",
        b"<Delete><Object><Key>obj</Key></Object><Quiet>false</Quiet><Quiet>true</Quiet></Delete>",
    ],
)
def test_delete_objects_document_outside_the_schema_is_malformed(
    gateway: Gateway, bucket: str, document: bytes
) -> None:
    """S3 validates a DeleteObjects document against its schema: an unknown element, an
    element given twice, an ``Object`` without ``Key`` or a ``Quiet`` other than
    ``true``/``false`` (in any case; ``1`` and ``0`` are refused as S3 refuses them in its
    documents) is ``MalformedXML``, and nothing is deleted (the gateway ignored the first,
    took the first of two and any other ``Quiet`` as false, and deleted)."""
    md5 = base64.b64encode(hashlib.md5(document).digest())
    line = f"POST /{bucket}?delete HTTP/1.1".encode()
    response = _request(gateway, line, b"Content-MD5: " + md5, body=document)
    assert response.startswith(b"HTTP/1.1 400"), response
    assert b"<Code>MalformedXML</Code>" in response
    assert gateway.client().get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"


@pytest.mark.parametrize(
    ("quiet", "silent"),
    [
        (b"<Quiet>true</Quiet>", True),
        (b"<Quiet> false </Quiet>", False),
        (b"", False),
        (b"<Quiet>True</Quiet>", True),  # minio-py remove_objects until 2022 (its #1185)
        (b"<Quiet>TRUE</Quiet>", True),
        (b"<Quiet>False</Quiet>", False),
    ],
)
@pytest.mark.parametrize("first", [True, False], ids=["quiet-first", "quiet-last"])
def test_delete_objects_quiet_as_s3_reads_it(
    gateway: Gateway, quiet: bytes, silent: bool, first: bool
) -> None:
    """``Quiet`` is read in any case and in either place: minio-go writes it before the
    ``Object``s, botocore after them, and minio-py wrote ``True``, which S3 takes (its
    maintainers, minio-py #1185). Before: ``True``, ``TRUE`` and ``False`` were
    ``MalformedXML`` and nothing was deleted."""
    s3 = gateway.client()
    name = f"bad-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="gone", Body=b"x")
    objects = b"<Object><Key>gone</Key></Object>"
    document = b"<Delete>" + (quiet + objects if first else objects + quiet) + b"</Delete>"
    md5 = base64.b64encode(hashlib.md5(document).digest())
    line = f"POST /{name}?delete HTTP/1.1".encode()
    response = _request(gateway, line, b"Content-MD5: " + md5, body=document)
    assert response.startswith(b"HTTP/1.1 200"), response
    assert (b"<Deleted>" in response) == (not silent), response
    assert s3.list_objects_v2(Bucket=name).get("Contents", []) == []


def test_upload_part_with_a_wrong_content_md5_is_bad_digest(gateway: Gateway, bucket: str) -> None:
    from botocore.exceptions import ClientError

    s3 = gateway.client()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"part", ContentMD5=wrong
        )
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


def test_an_object_body_without_a_length_is_missing_content_length(
    gateway: Gateway, bucket: str
) -> None:
    """A PUT with neither Content-Length nor a chunked Transfer-Encoding has an empty body
    to HTTP: S3 answers 411 ``MissingContentLength``, and the object there is kept (it
    used to be replaced by an empty one). UploadPart likewise stores no part."""
    s3 = gateway.client()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp-length")["UploadId"]
    targets = [f"/{bucket}/obj", f"/{bucket}/mp-length?partNumber=1&uploadId={upload}"]
    for target in targets:
        head = [f"PUT {target} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
        head.append(b"X-API-Key: " + gateway.secret_key.encode())
        response = _raw(gateway, b"\r\n".join(head) + b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 411"), response
        assert b"<Code>MissingContentLength</Code>" in response
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"
    assert s3.list_parts(Bucket=bucket, Key="mp-length", UploadId=upload).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="mp-length", UploadId=upload)
