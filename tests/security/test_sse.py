"""Server-side encryption against the real gateway (filesystem backend), with boto3 over
HTTP (loopback) and HTTPS: a client that asks for encryption gets it or an error, never
plaintext on disk, and an SSE-C object never opens without its key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import expect_error
from tests.security.data_util import files_containing, sse_c_key

MiB = 1024 * 1024
AES = {"ServerSideEncryption": "AES256"}
DEFAULT_AES = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


@pytest.fixture(scope="module")
def http_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "sse-http")


@pytest.fixture(scope="module")
def https_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "sse-https", tls=True)


@pytest.fixture(params=["http", "https"])
def gw(request: pytest.FixtureRequest) -> Gateway:
    gateway: Gateway = request.getfixturevalue(f"{request.param}_gateway")
    return gateway


@pytest.fixture
def s3(gw: Gateway) -> Any:
    return gw.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"sse-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def marker() -> bytes:
    """Recognisable plaintext, unique per test."""
    return f"PLAINTEXT-{uuid.uuid4().hex}-".encode()


def storage(gw: Gateway) -> Path:
    return gw.data_dir / "storage"


def ssec(key: bytes, *, source: bool = False) -> dict[str, Any]:
    prefix = "CopySource" if source else ""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def status_of(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def tamper(gw: Gateway, bucket: str, key: str, offset: int) -> bool:
    """Flip one stored byte of an object where its bytes are (found in the metadata
    database, as the gateway finds them): its data file, or its row of ``inline_data``
    for a small object. True when it was an inline object."""
    with contextlib.closing(
        sqlite3.connect(storage(gw) / "meta" / "meta.sqlite3", timeout=10)
    ) as db:
        row = db.execute(
            "SELECT data_id FROM objects WHERE bucket = ? AND key = ?", (bucket, key.encode())
        ).fetchone()
        data_id = str(row[0])
        if data_id.startswith("i"):
            (stored,) = db.execute(
                "SELECT data FROM inline_data WHERE data_id = ?", (data_id,)
            ).fetchone()
            data = bytearray(stored)
            data[offset] ^= 0x40
            with db:
                db.execute(
                    "UPDATE inline_data SET data = ? WHERE data_id = ?", (bytes(data), data_id)
                )
            return True
    path = storage(gw) / "objects" / data_id[:2] / data_id[2:4] / data_id
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))
    return False


def assert_missing(s3: Any, bucket: str, key: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key=key)
    assert status_of(caught.value) == 404


# -- SSE-S3 ----------------------------------------------------------------------------


def test_sse_s3_is_applied_echoed_and_ranged(gw: Gateway, s3: Any, bucket: str) -> None:
    mark = marker()
    body = mark * (300_000 // len(mark))
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, **AES)
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    assert files_containing(storage(gw), mark) == []
    head = s3.head_object(Bucket=bucket, Key="k")
    assert (head["ServerSideEncryption"], head["ContentLength"]) == ("AES256", len(body))
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == body
    size = len(body)
    for first, last in ((0, 0), (65_530, 65_545), (131_072, size - 1), (size - 10, size + 99)):
        ranged = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == body[first : last + 1]
    copy = s3.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"}, **AES
    )
    assert copy["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body


def test_sse_s3_multipart_parts_and_part_reads(gw: Gateway, s3: Any, bucket: str) -> None:
    mark = marker()
    parts = [mark * (5 * MiB // len(mark) + 1), b"tail" + mark]
    created = s3.create_multipart_upload(Bucket=bucket, Key="mp", **AES)
    assert created["ServerSideEncryption"] == "AES256"
    upload = created["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n, Body=p)["ETag"]
        for n, p in enumerate(parts, 1)
    ]
    # parts are encrypted from the moment they land, not only once completed
    assert files_containing(storage(gw), mark) == []
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    assert done["ServerSideEncryption"] == "AES256"
    assert files_containing(storage(gw), mark) == []
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == parts[1]
    whole = b"".join(parts)
    edge = len(parts[0])
    ranged = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={edge - 5}-{edge + 5}")
    assert ranged["Body"].read() == whole[edge - 5 : edge + 6]


def test_parts_of_an_sse_s3_upload_say_they_are_encrypted(s3: Any, bucket: str) -> None:
    """Before: UploadPart and UploadPartCopy of an SSE-S3 upload (asked for, or the
    bucket's default) answered no ``x-amz-server-side-encryption``, unlike S3."""
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    source = {"Bucket": bucket, "Key": "src"}
    asked = s3.create_multipart_upload(Bucket=bucket, Key="asked", **AES)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="asked", UploadId=asked, PartNumber=1, Body=b"x")
    assert part["ServerSideEncryption"] == "AES256"
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="asked", UploadId=asked, PartNumber=2, CopySource=source
    )
    assert copied["ServerSideEncryption"] == "AES256"
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="plain", UploadId=plain, PartNumber=1, Body=b"x")
    assert "ServerSideEncryption" not in part
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=DEFAULT_AES)
    default = s3.create_multipart_upload(Bucket=bucket, Key="default")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="default", UploadId=default, PartNumber=1, Body=b"x")
    assert part["ServerSideEncryption"] == "AES256"
    key, key_md5 = sse_c_key()
    keyed = s3.create_multipart_upload(Bucket=bucket, Key="keyed", **ssec(key))["UploadId"]
    part = s3.upload_part(
        Bucket=bucket, Key="keyed", UploadId=keyed, PartNumber=1, Body=b"x", **ssec(key)
    )
    assert "ServerSideEncryption" not in part
    assert (part["SSECustomerAlgorithm"], part["SSECustomerKeyMD5"]) == ("AES256", key_md5)


# -- SSE-C -----------------------------------------------------------------------------


def test_sse_c_object_never_opens_without_its_key(gw: Gateway, s3: Any, bucket: str) -> None:
    key, key_md5 = sse_c_key()
    mark = marker()
    put = s3.put_object(Bucket=bucket, Key="c", Body=mark * 100, **ssec(key))
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", key_md5)
    assert "ServerSideEncryption" not in put
    assert put["ETag"].strip('"') != hashlib.md5(mark * 100).hexdigest()
    assert files_containing(storage(gw), mark) == []
    assert files_containing(storage(gw), base64.b64encode(key)) == []

    # no key: 400 (the plaintext came back here before)
    exc = expect_error("InvalidRequest", 400, s3.get_object, Bucket=bucket, Key="c")
    assert "Server Side Encryption" in exc.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="c")
    assert status_of(caught.value) == 400
    # another key: 403
    other, _ = sse_c_key()
    expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="c", **ssec(other))
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="c", **ssec(other))
    assert status_of(caught.value) == 403
    # ranges and conditions do not go around the key
    expect_error("InvalidRequest", 400, s3.get_object, Bucket=bucket, Key="c", Range="bytes=0-9")
    # the right key
    got = s3.get_object(Bucket=bucket, Key="c", **ssec(key))
    assert got["Body"].read() == mark * 100
    assert got["SSECustomerKeyMD5"] == key_md5
    head = s3.head_object(Bucket=bucket, Key="c", **ssec(key))
    assert head["SSECustomerAlgorithm"] == "AES256"


def ssec_text(key: bytes) -> dict[str, str]:
    """SSE-C parameters of the operations botocore does not encode the key of
    (GetObjectAttributes, ListParts): the key in base64 and its MD5, as on the wire."""
    return {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64encode(key).decode(),
        "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def test_sse_c_object_attributes_answer_to_its_key(gw: Gateway, s3: Any, bucket: str) -> None:
    """Before: GetObjectAttributes never read the SSE-C headers, so an SSE-C object's
    attributes answered 400 "the correct parameters must be provided" even with its key."""
    key, _ = sse_c_key()
    body = marker() * 10
    s3.put_object(Bucket=bucket, Key="c", Body=body, ChecksumAlgorithm="SHA256", **ssec(key))
    wanted = ["ETag", "ObjectSize", "Checksum"]
    got = s3.get_object_attributes(
        Bucket=bucket, Key="c", ObjectAttributes=wanted, **ssec_text(key)
    )
    assert got["ObjectSize"] == len(body)
    assert (
        got["Checksum"]["ChecksumSHA256"]
        == base64.b64encode(hashlib.sha256(body).digest()).decode()
    )
    expect_error(
        "InvalidRequest",
        400,
        s3.get_object_attributes,
        Bucket=bucket,
        Key="c",
        ObjectAttributes=wanted,
    )
    other, _ = sse_c_key()
    expect_error(
        "AccessDenied",
        403,
        s3.get_object_attributes,
        Bucket=bucket,
        Key="c",
        ObjectAttributes=wanted,
        **ssec_text(other),
    )
    s3.put_object(Bucket=bucket, Key="plain", Body=body)
    expect_error(
        "InvalidRequest",
        400,
        s3.get_object_attributes,
        Bucket=bucket,
        Key="plain",
        ObjectAttributes=wanted,
        **ssec_text(key),
    )


def test_sse_c_copies_need_the_source_key(gw: Gateway, s3: Any, bucket: str) -> None:
    key, _ = sse_c_key()
    new_key, new_md5 = sse_c_key()
    body = marker() * 50
    s3.put_object(Bucket=bucket, Key="src", Body=body, **ssec(key))
    source = {"Bucket": bucket, "Key": "src"}
    expect_error("InvalidRequest", 400, s3.copy_object, Bucket=bucket, Key="x", CopySource=source)
    expect_error(
        "AccessDenied",
        403,
        s3.copy_object,
        Bucket=bucket,
        Key="x",
        CopySource=source,
        **ssec(new_key, source=True),
    )
    # SSE-C -> SSE-C under a new key (a key rotation done by the client)
    rotated = s3.copy_object(
        Bucket=bucket, Key="rot", CopySource=source, **ssec(key, source=True), **ssec(new_key)
    )
    assert rotated["SSECustomerKeyMD5"] == new_md5
    assert s3.get_object(Bucket=bucket, Key="rot", **ssec(new_key))["Body"].read() == body
    expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="rot", **ssec(key))
    # a copy onto itself that only changes the encryption is allowed
    s3.copy_object(Bucket=bucket, Key="src", CopySource=source, **ssec(key, source=True), **AES)
    assert s3.get_object(Bucket=bucket, Key="src")["ServerSideEncryption"] == "AES256"


def test_sse_c_multipart_and_upload_part_copy(gw: Gateway, s3: Any, bucket: str) -> None:
    key, key_md5 = sse_c_key()
    source_key, _ = sse_c_key()
    mark = marker()
    src_body = mark * (6 * MiB // len(mark))
    s3.put_object(Bucket=bucket, Key="src", Body=src_body, **ssec(source_key))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", **ssec(key))
    assert upload["SSECustomerKeyMD5"] == key_md5
    upload_id = upload["UploadId"]
    # every part must carry the upload's key
    expect_error(
        "InvalidRequest",
        400,
        s3.upload_part,
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x",
    )
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MiB}",
        **ssec(source_key, source=True),
        **ssec(key),
    )
    second = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=2, Body=b"end", **ssec(key)
    )
    assert second["SSECustomerKeyMD5"] == key_md5
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    assert files_containing(storage(gw), mark) == []
    got = s3.get_object(Bucket=bucket, Key="mp", **ssec(key))["Body"].read()
    assert got == src_body[: 5 * MiB + 1] + b"end"
    expect_error("InvalidRequest", 400, s3.get_object, Bucket=bucket, Key="mp")


def test_sse_c_upload_checksums_only_with_its_key(s3: Any, bucket: str) -> None:
    """Before: ListParts and CompleteMultipartUpload of an SSE-C upload showed its parts'
    plaintext checksums (here a SHA-256) to anyone, without the key, and took any key;
    the random ETags of SSE-C exist so that no one without the key can confirm a guess."""
    key, _ = sse_c_key()
    other, _ = sse_c_key()
    body = marker()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()

    def start(name: str) -> tuple[str, list[dict[str, Any]]]:
        upload = s3.create_multipart_upload(
            Bucket=bucket, Key=name, ChecksumAlgorithm="SHA256", **ssec(key)
        )["UploadId"]
        part = s3.upload_part(
            Bucket=bucket,
            Key=name,
            UploadId=upload,
            PartNumber=1,
            Body=body,
            ChecksumAlgorithm="SHA256",
            **ssec(key),
        )
        return upload, [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": digest}]

    upload, parts = start("mp")
    keyed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload, **ssec_text(key))
    assert keyed["Parts"][0]["ChecksumSHA256"] == digest
    expect_error(
        "InvalidArgument",
        400,
        s3.list_parts,
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        **ssec_text(other),
    )
    completion = {"Bucket": bucket, "Key": "mp", "UploadId": upload}
    expect_error(
        "InvalidArgument",
        400,
        s3.complete_multipart_upload,
        MultipartUpload={"Parts": parts},
        **completion,
        **ssec(other),
    )
    # without the key the completion is refused (the next test); with it, it is answered
    done = s3.complete_multipart_upload(MultipartUpload={"Parts": parts}, **completion, **ssec(key))
    assert done["ChecksumSHA256"].partition("-")[0]
    assert s3.get_object(Bucket=bucket, Key="mp", **ssec(key))["Body"].read() == body

    upload, parts = start("keyed")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="keyed", UploadId=upload, MultipartUpload={"Parts": parts}, **ssec(key)
    )
    assert done["ChecksumSHA256"].partition("-")[0]
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    expect_error(
        "InvalidRequest",
        400,
        s3.list_parts,
        Bucket=bucket,
        Key="plain",
        UploadId=plain,
        **ssec_text(key),
    )


def test_sse_c_list_parts_of_a_checksum_upload_needs_its_key(s3: Any, bucket: str) -> None:
    """Before: ListParts of an SSE-C upload created with a checksum algorithm, asked
    without the key, answered (with the part checksums left out). S3 requires the SSE-C
    headers on ListParts of such an upload, so it is refused with 400 InvalidRequest, as
    an UploadPart without the key; an upload created without an algorithm still lists
    without the key (S3 does not ask for it there), its parts' checksums left out."""
    key, _ = sse_c_key()
    body = marker()

    def start(name: str, algorithm: str | None) -> str:
        extra = {} if algorithm is None else {"ChecksumAlgorithm": algorithm}
        upload = s3.create_multipart_upload(Bucket=bucket, Key=name, **extra, **ssec(key))
        s3.upload_part(
            Bucket=bucket, Key=name, UploadId=upload["UploadId"], PartNumber=1, Body=body,
            ChecksumAlgorithm="SHA256", **ssec(key),
        )  # fmt: skip
        return str(upload["UploadId"])

    upload = start("algo", "SHA256")
    expect_error(
        "InvalidRequest", 400, s3.list_parts, Bucket=bucket, Key="algo", UploadId=upload
    )  # fmt: skip
    keyed = s3.list_parts(Bucket=bucket, Key="algo", UploadId=upload, **ssec_text(key))
    assert [p["PartNumber"] for p in keyed["Parts"]] == [1]
    assert keyed["Parts"][0]["ChecksumSHA256"]

    upload = start("no-algo", None)
    listed = s3.list_parts(Bucket=bucket, Key="no-algo", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1]
    assert not any(name.startswith("Checksum") for name in listed[0])


def test_sse_c_completion_without_the_key_confirms_no_guess(s3: Any, bucket: str) -> None:
    """Before: CompleteMultipartUpload of an SSE-C upload, sent without its key, still
    compared the part checksums it listed (and an x-amz-checksum-* of the whole object)
    with the parts' plaintext digests: a wrong guess answered InvalidPart and left the
    upload, the right one completed it, so anyone who may write the bucket could confirm
    guesses of the plaintext one completion at a time. Now, as S3 documents (the SSE-C
    headers are required on the completion of an upload created with a checksum
    algorithm), such a completion is refused with 400 InvalidRequest before anything is
    compared, and the upload stays as it was; one naming no checksum of an upload without
    an algorithm needs no key, as on S3."""
    key, _ = sse_c_key()
    body = marker()
    right = base64.b64encode(hashlib.sha256(body).digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(body + b"?").digest()).decode()

    def start(name: str, algorithm: str | None) -> tuple[str, str]:
        extra = {} if algorithm is None else {"ChecksumAlgorithm": algorithm}
        upload = s3.create_multipart_upload(Bucket=bucket, Key=name, **extra, **ssec(key))
        part = s3.upload_part(
            Bucket=bucket, Key=name, UploadId=upload["UploadId"], PartNumber=1, Body=body,
            ChecksumAlgorithm="SHA256", **ssec(key),
        )  # fmt: skip
        return upload["UploadId"], part["ETag"]

    upload, etag = start("algo", "SHA256")
    for guess in (wrong, right):
        expect_error(
            "InvalidRequest", 400, s3.complete_multipart_upload, Bucket=bucket, Key="algo",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": guess}]},
        )  # fmt: skip
    expect_error(
        "InvalidRequest", 400, s3.complete_multipart_upload, Bucket=bucket, Key="algo",
        UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    listed = s3.list_parts(Bucket=bucket, Key="algo", UploadId=upload, **ssec_text(key))
    assert [p["PartNumber"] for p in listed["Parts"]] == [1]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="algo", UploadId=upload, **ssec(key),
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": right}]},
    )  # fmt: skip
    assert done["ChecksumSHA256"].partition("-")[0]

    upload, etag = start("plain-algo", None)
    for guess in (wrong, right):
        expect_error(
            "InvalidRequest", 400, s3.complete_multipart_upload, Bucket=bucket,
            Key="plain-algo", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": guess}]},
        )  # fmt: skip
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="plain-algo", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    assert not any(name.startswith("Checksum") for name in done)
    assert s3.get_object(Bucket=bucket, Key="plain-algo", **ssec(key))["Body"].read() == body


def test_malformed_sse_c_headers_answer_aws_errors(s3: Any, bucket: str) -> None:
    key, _ = sse_c_key()
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key[:16]}, "InvalidArgument"),
        (
            {
                "SSECustomerAlgorithm": "AES256",
                "SSECustomerKey": base64.b64encode(key).decode(),
                "SSECustomerKeyMD5": wrong_md5,
            },
            "InvalidArgument",
        ),
        ({"SSECustomerAlgorithm": "DES", "SSECustomerKey": key}, "InvalidEncryptionAlgorithmError"),
        ({"ServerSideEncryption": "AES256", **ssec(key)}, "InvalidArgument"),
        ({"ServerSideEncryption": "rot13"}, "InvalidArgument"),
    ]
    for extra, code in cases:
        expect_error(code, 400, s3.put_object, Bucket=bucket, Key="bad", Body=b"x", **extra)
    assert_missing(s3, bucket, "bad")


def test_kms_answers_not_implemented_and_stores_nothing(s3: Any, bucket: str) -> None:
    for algorithm in ("aws:kms", "aws:kms:dsse"):
        expect_error(
            "NotImplemented",
            501,
            s3.put_object,
            Bucket=bucket,
            Key="kms",
            Body=b"x",
            ServerSideEncryption=algorithm,
        )
        expect_error(
            "NotImplemented",
            501,
            s3.create_multipart_upload,
            Bucket=bucket,
            Key="kms",
            ServerSideEncryption=algorithm,
        )
    assert_missing(s3, bucket, "kms")
    kms_default = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
    expect_error(
        "NotImplemented",
        501,
        s3.put_bucket_encryption,
        Bucket=bucket,
        ServerSideEncryptionConfiguration=kms_default,
    )


# -- default bucket encryption -------------------------------------------------------


def test_bucket_default_encryption(gw: Gateway, s3: Any, bucket: str) -> None:
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=DEFAULT_AES)
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    mark = marker()
    put = s3.put_object(Bucket=bucket, Key="d", Body=mark)
    assert put["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="d")["ServerSideEncryption"] == "AES256"
    assert files_containing(storage(gw), mark) == []
    s3.delete_bucket_encryption(Bucket=bucket)
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="p", Body=b"p")


def test_bucket_encryption_scopes(http_gateway: Gateway) -> None:
    admin = http_gateway.client()
    bucket = f"sse-{uuid.uuid4().hex[:16]}"
    admin.create_bucket(Bucket=bucket)
    reader = make_key(http_gateway, scopes=["read:buckets"])
    writer = make_key(http_gateway, scopes=["write:buckets"])
    as_reader = http_gateway.client(reader["id"], reader["secret"])
    as_writer = http_gateway.client(writer["id"], writer["secret"])
    expect_error(
        "AccessDenied",
        403,
        as_reader.put_bucket_encryption,
        Bucket=bucket,
        ServerSideEncryptionConfiguration=DEFAULT_AES,
    )
    as_writer.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=DEFAULT_AES)
    assert as_reader.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    expect_error("AccessDenied", 403, as_writer.get_bucket_encryption, Bucket=bucket)
    expect_error("AccessDenied", 403, as_reader.delete_bucket_encryption, Bucket=bucket)
    as_writer.delete_bucket_encryption(Bucket=bucket)


# -- what is on disk -------------------------------------------------------------------


def test_tampered_ciphertext_is_never_served(http_gateway: Gateway) -> None:
    s3 = http_gateway.client()
    bucket = f"sse-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    small, large = os.urandom(1000), os.urandom(600_000)
    s3.put_object(Bucket=bucket, Key="small", Body=small, **AES)
    s3.put_object(Bucket=bucket, Key="large", Body=large, **AES)
    # the small one is kept in the metadata database, the large one in a data file
    assert tamper(http_gateway, bucket, "small", 200)
    assert not tamper(http_gateway, bucket, "large", 590_000)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="small")
    assert status_of(caught.value) == 500
    # a large body streams: its status went out before the flipped segment was reached,
    # so the body ends short (the client sees an error, never the altered bytes)
    response = s3.get_object(Bucket=bucket, Key="large")
    with pytest.raises(Exception):  # noqa: B017 - botocore's IncompleteRead/ResponseStreamingError
        response["Body"].read()
    # the untouched start of the large object still reads
    head = s3.get_object(Bucket=bucket, Key="large", Range="bytes=0-99")["Body"].read()
    assert head == large[:100]


def test_encrypted_objects_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    gateway = start_gateway(data_dir)
    key, _ = sse_c_key()
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket="restart")
        s3.put_object(Bucket="restart", Key="s3", Body=b"managed", **AES)
        s3.put_object(Bucket="restart", Key="c", Body=b"customer", **ssec(key))
    finally:
        gateway.stop()
    gateway = start_gateway(data_dir)
    try:
        s3 = gateway.client()
        assert s3.get_object(Bucket="restart", Key="s3")["Body"].read() == b"managed"
        assert s3.get_object(Bucket="restart", Key="c", **ssec(key))["Body"].read() == b"customer"
    finally:
        gateway.stop()
