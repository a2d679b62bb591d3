"""Bodies between the gateway and the upstream client, streamed in both directions.

A request body goes upstream in one of two ways (PutObject and UploadPart alike):
``send_spooled`` receives it fully first, then sends it with its length and MD5;
``send_streamed`` passes a body of known length straight through ``UploadBody``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from typing import IO, Any

from aiobotocore.httpchecksum import AioStreamingChecksumBody

from backends.errors import BackendError
from backends.s3.client import Call
from backends.s3.meta import checksum_params, expires_header, meta_params
from backends.s3.send_watch import SendWatch
from backends.s3.upstream_errors import translate_error, unavailable
from backends.types import ObjectMeta, PayloadStream
from sigv4 import new_checksum

__all__ = [
    "READ_CHUNK",
    "DownloadBody",
    "Spooled",
    "UploadBody",
    "bad_digest",
    "send_spooled",
    "send_streamed",
    "spool",
]

READ_CHUNK = 256 * 1024
_SPOOL_MEMORY = 8 * 1024 * 1024


class UploadBody:
    """A ``PayloadStream`` handed to the upstream client as a request body of known length.

    The lean client's transport (``http1``) and aiohttp under aiobotocore send any async
    iterable chunk by chunk (botocore only needs a ``read`` attribute to accept it as a
    streaming blob). Two guards keep a failed body from
    becoming an upstream object:

    - one chunk of look-ahead: the last chunk is released only after the source ended
      cleanly, so a check that fails at the very end (a trailer checksum) aborts the
      request before upstream has seen ``Content-Length`` bytes;
    - the byte count must equal the declared length, and the MD5 the client declared
      (``content_md5``) is checked here too: not every S3-compatible store checks it.

    The exception the source raised is kept in ``error`` so the caller re-raises it
    instead of the transport error the client wraps it in.
    """

    def __init__(
        self, source: PayloadStream, size: int, *, content_md5: bytes | None = None
    ) -> None:
        self._source = source
        self._size = size
        self._expected_md5 = content_md5
        self._md5 = hashlib.md5(usedforsecurity=False) if content_md5 is not None else None
        self.error: BaseException | None = None
        self.sent = 0
        self.handed_at: float | None = time.monotonic()
        """``time.monotonic()`` since when the transport has not asked for the next chunk:
        it is still sending the last one, or (before the first) waiting on the store to
        take the request (``Expect: 100-continue``); the store is the slow side. None while
        the source is awaited, and after the end."""
        self._reader: AsyncIterator[bytes] | None = None

    async def read(self, amt: int = -1) -> bytes:
        """The next ``amt`` bytes or more (one chunk for ``amt < 0``), ``b""`` at the end.

        What botocore's aws-chunked wrapper reads (``request_checksum_calculation =
        "when_supported"``: the CRC goes as a trailer, ``client``); the guards below
        hold the same. Chunks are gathered up to ``amt`` so the store sees aws-chunked
        chunks of the wrapper's size, not the client's (stores want 8 KiB or more).
        """
        chunks = self._reader
        if chunks is None:
            chunks = self._reader = self._chunks()
        got = await anext(chunks, b"")
        if amt < 0 or len(got) >= amt or not got:
            return got
        pieces = [got]
        size = len(got)
        while size < amt and (more := await anext(chunks, b"")):
            pieces.append(more)
            size += len(more)
        return b"".join(pieces)

    def __len__(self) -> int:
        return self._size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        self.handed_at = None
        try:
            pending: bytes | None = None
            async for chunk in self._source:
                if not chunk:
                    continue
                self.sent += len(chunk)
                if self._md5 is not None:
                    self._md5.update(chunk)
                if self.sent > self._size:
                    raise BackendError("IncompleteBody", "body longer than its declared size")
                if pending is not None:
                    self.handed_at = time.monotonic()
                    yield pending
                    self.handed_at = None
                pending = chunk if isinstance(chunk, bytes) else bytes(chunk)
            if self.sent != self._size:
                raise BackendError("IncompleteBody", "body shorter than its declared size")
            if self._md5 is not None and self._md5.digest() != self._expected_md5:
                raise bad_digest()
            if pending is not None:
                self.handed_at = time.monotonic()
                yield pending
                self.handed_at = None
        except Exception as exc:  # not GeneratorExit: a client stopping early is no failure
            self.error = exc
            raise


def bad_digest() -> BackendError:
    return BackendError(
        "BadDigest", "The Content-MD5 you specified did not match what we received."
    )


class Spooled:
    """A fully received body: in memory up to 8 MiB, then in an anonymous temp file."""

    def __init__(self, file: IO[bytes], size: int, md5: bytes, crc32: str | None) -> None:
        self.file = file
        self.size = size
        self.md5 = md5
        self.crc32 = crc32

    def payload(self) -> bytes | IO[bytes]:
        """The request body: bytes while it fits in memory, else the file itself."""
        if self.size <= _SPOOL_MEMORY:
            return self.file.read()
        return self.file

    def close(self) -> None:
        self.file.close()


async def spool(source: PayloadStream, *, crc32: bool = False) -> Spooled:
    """Drain ``source`` (raising whatever it raises) into bounded memory or a temp file;
    its MD5, and with ``crc32`` its CRC32 (base64, as S3 names it), computed on the way."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
    digest = hashlib.md5(usedforsecurity=False)
    crc = new_checksum("CRC32") if crc32 else None
    size = 0
    try:
        async for chunk in source:
            file.write(chunk)
            digest.update(chunk)
            if crc is not None:
                crc.update(chunk)
            size += len(chunk)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Spooled(file, size, digest.digest(), None if crc is None else crc.b64digest())


async def send_spooled(
    call: Call,
    operation: str,
    params: Mapping[str, Any],
    body: PayloadStream,
    *,
    not_found: str,
    size_hint: int | None,
    content_md5: bytes | None,
    meta: ObjectMeta | None = None,
    native_checksums: bool = False,
    request_crc32: bool = False,
) -> tuple[dict[str, Any], int]:
    """Spool ``body``, check its length and MD5, then send it with both: (response, size).

    With ``meta``, the metadata and the body's verified checksums (known once it ended)
    ride in the same request; with ``native_checksums`` the checksums also go as the
    store's own ``x-amz-checksum-*`` (the store checks and keeps them).

    ``request_crc32`` (``request_checksum_calculation = "when_supported"``): the CRC32
    botocore would add is computed while spooling and passed as ``ChecksumCRC32``, so
    botocore does not compute it by reading the whole spooled body (a temp file, of any
    size for an unknown length) synchronously on the event loop.
    """
    spooled = await spool(body, crc32=request_crc32)
    try:
        if size_hint is not None and spooled.size != size_hint:
            raise BackendError("IncompleteBody", "body length differs from its size")
        if content_md5 is not None and content_md5 != spooled.md5:
            raise bad_digest()
        response = await call(
            operation,
            not_found=not_found,
            headers=expires_header(meta),
            Body=spooled.payload(),
            ContentLength=spooled.size,
            ContentMD5=base64.b64encode(spooled.md5).decode(),
            **params,
            **({} if meta is None else meta_params(meta, dict(body.checksums))),
            **_request_checksum(spooled, params, body.checksums if native_checksums else {}),
        )
    finally:
        spooled.close()
    return response, spooled.size


def _request_checksum(
    spooled: Spooled, params: Mapping[str, Any], native: Mapping[str, str]
) -> dict[str, str]:
    """The ``Checksum<ALG>`` parameters of a spooled body: the store's own (``native``)
    when there are some, else the CRC32 computed while spooling (what botocore chooses
    by default), unless the call names its own ``ChecksumAlgorithm``."""
    if native:
        return checksum_params(native)
    if spooled.crc32 is None or "ChecksumAlgorithm" in params:
        return {}
    # both headers, as botocore sends them (moto keeps the checksum only with the algorithm)
    return {"ChecksumAlgorithm": "CRC32", "ChecksumCRC32": spooled.crc32}


async def send_streamed(
    call: Call,
    operation: str,
    params: Mapping[str, Any],
    body: PayloadStream,
    size: int,
    *,
    not_found: str,
    content_md5: bytes | None,
    send_timeout: float,
    meta: ObjectMeta | None = None,
) -> dict[str, Any]:
    """Stream ``body`` of declared ``size`` through ``UploadBody``; the error the body
    raised (not the transport error around it) is what surfaces. Checksums are not known
    before the body ended, so ``meta`` goes without them.

    ``send_timeout`` (the backend's ``read_timeout``) bounds how long one chunk may wait
    for the store to take it (``send_watch``): aiohttp under aiobotocore starts its read
    timeout only once the whole body is written, so a store that stops reading without
    answering would hold the upload for ever. Time spent waiting on the client does not
    count."""
    upload = UploadBody(body, size, content_md5=content_md5)
    md5 = {} if content_md5 is None else {"ContentMD5": base64.b64encode(content_md5).decode()}
    watch = SendWatch(upload, send_timeout)
    try:
        return await call(
            operation,
            not_found=not_found,
            headers=expires_header(meta),
            Body=upload,
            ContentLength=size,
            **params,
            **md5,
            **({} if meta is None else meta_params(meta, {})),
        )
    except asyncio.CancelledError:
        if watch.expired():
            raise unavailable(
                "ServiceUnavailable",
                f"the upstream store took no request body for {send_timeout}s",
            ) from None
        raise
    except BackendError:
        if upload.error is not None:
            raise upload.error from None
        raise
    finally:
        watch.stop()


class DownloadBody:
    """``ObjectRead.body``: upstream StreamingBody chunks; ``aclose`` frees the connection.

    With the answer's ``length`` known, the body ends once that many bytes were handed
    over, without one more read to see the end (a small GET's body is one chunk, and the
    read that would return nothing was a second pass through three coroutines); a body
    that ends short of it is an error, never a short body served as whole.

    A body botocore checks against the store's checksum (``response_checksum_validation
    = "when_supported"``) is checked only by the read that finds its end: that read is
    made before the last chunk is handed over, so a body that fails its checksum never
    reaches the client whole. Only a ``whole`` object's body is checked: a store's
    checksum is the whole object's, and some stores send it with a range too (Ceph RGW
    before ceph/ceph#61901, s3s; S3 for ``bytes=0-`` of a composite multipart object,
    boto/botocore#3346), where it does not describe the bytes served.
    """

    def __init__(
        self,
        stream: Any,
        *,
        length: int | None = None,
        chunk_size: int = READ_CHUNK,
        whole: bool = True,
    ) -> None:
        self._stream = stream
        self._remaining = length
        self._chunk_size = chunk_size
        self._closed = False
        self._check_end = whole and isinstance(stream, AioStreamingChecksumBody)

    def __aiter__(self) -> DownloadBody:
        return self

    async def __anext__(self) -> bytes:
        if self._closed or self._remaining == 0:
            await self.aclose()
            raise StopAsyncIteration
        try:
            chunk: bytes = await self._stream.read(self._chunk_size)
        except Exception as exc:
            await self.aclose()
            raise translate_error(exc) from exc
        if not chunk:
            await self.aclose()
            if self._remaining:  # the store ended the body early: never serve it short
                raise translate_error(ConnectionError(f"{self._remaining} bytes short"))
            raise StopAsyncIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
            if self._remaining == 0 and self._check_end:
                await self._read_end()
        return chunk

    async def _read_end(self) -> None:
        """The read after the last byte: botocore checks the checksum there."""
        try:
            more: bytes = await self._stream.read(self._chunk_size)
        except Exception as exc:
            await self.aclose()
            raise translate_error(exc) from exc
        if more:  # longer than its Content-Length: botocore raises first, but never serve it
            await self.aclose()
            raise translate_error(ConnectionError("body longer than its Content-Length"))

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._stream.close()
