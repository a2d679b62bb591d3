"""Upstream answers naming a key XML 1.0 cannot carry (backends/s3/xml_chars.py).

S3 writes a key holding a control character as a character reference
(``<Key>ctl&#x1;key</Key>``), moto writes the byte; botocore refuses both, and its 200
check would turn the creation of an upload that exists upstream into a failure, and one
such upload would make a bucket's uploads unlistable. The "store" here answers byte for
byte as S3 does, to the backend as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from backends import BackendError
from backends.s3 import S3Backend, UpstreamConfig
from backends.types import ObjectMeta
from tests.backends.http1_servers import answer, raw_server, read_request

UPLOAD_ID = "VXBsb2FkIElE"


def _store(key_xml: bytes, *, root: bytes = b"InitiateMultipartUploadResult") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<" + root + b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Bucket>bkt</Bucket><Key>" + key_xml + b"</Key>"
        b"<UploadId>" + UPLOAD_ID.encode() + b"</UploadId></" + root + b">"
    )


@contextlib.asynccontextmanager
async def _backend_against(body: bytes) -> AsyncIterator[S3Backend]:
    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(answer(200, body, {"content-type": "application/xml"}))
            await writer.drain()

    async with raw_server(store) as server:
        backend = S3Backend(
            UpstreamConfig(
                endpoint_url=f"http://{server.authority}",
                access_key_id="upstream-access-key",
                secret_access_key="upstream-secret-key",
            )
        )
        await backend.start()
        try:
            yield backend
        finally:
            await backend.close()


@pytest.mark.parametrize(
    "key_xml",
    [b"ctl&#x1;key", b"ctl&#X1f;key", b"ctl&#27;key", b"ctl\x01key", b"ctl\x1bkey"],
    ids=["hex-ref", "hex-ref-upper", "decimal-ref", "raw-byte", "raw-escape"],
)
async def test_an_upload_the_store_created_is_created(key_xml: bytes) -> None:
    async with _backend_against(_store(key_xml)) as backend:
        upload = await backend.create_multipart_upload("bkt", "ctl\x01key", ObjectMeta())
        assert upload.upload_id == UPLOAD_ID
        assert upload.key == "ctl\x01key"  # the key asked about, not the store's rendering


async def test_references_xml_allows_are_kept() -> None:
    """``&#x9;`` (a tab) and ``&#38;`` (an ampersand) are legal XML: left for the parser."""
    async with _backend_against(_store(b"a&#x9;b&#38;c")) as backend:
        upload = await backend.create_multipart_upload("bkt", "a\tb&c", ObjectMeta())
        assert upload.upload_id == UPLOAD_ID


async def test_one_such_upload_does_not_make_the_others_unlistable() -> None:
    """In a listing the key is the answer: that upload is listed with U+FFFD in its name
    (what SeaweedFS lists itself), the others as they are."""
    listing = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult '
        b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bkt</Bucket>'
        b"<IsTruncated>false</IsTruncated>"
        b"<Upload><Key>ctl&#x1;key</Key><UploadId>one</UploadId>"
        b"<Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>"
        b"<Upload><Key>plain</Key><UploadId>two</UploadId>"
        b"<Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>"
        b"</ListMultipartUploadsResult>"
    )
    async with _backend_against(listing) as backend:
        page = await backend.list_multipart_uploads("bkt")
        assert [(u.key, u.upload_id) for u in page.uploads] == [
            ("ctl\ufffdkey", "one"),
            ("plain", "two"),
        ]


async def test_an_error_in_a_200_is_still_an_error() -> None:
    """botocore's check of 200 answers still runs (behind ours): S3 may fail a request
    after its 200 went out, with an ``<Error>`` body."""
    error = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
        b"<Message>We encountered an internal error. Please try again.</Message></Error>"
    )
    async with _backend_against(error) as backend:
        with pytest.raises(BackendError) as raised:
            await backend.create_multipart_upload("bkt", "k", ObjectMeta())
        assert raised.value.code == "ServiceUnavailable"
