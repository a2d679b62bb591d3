"""A streaming ``multipart/form-data`` reader for POST Object (browser form uploads).

:meth:`FormReader.read_fields` reads the parts before the ``file`` part into a dict,
within a byte budget for everything before the file's content (preamble, part headers,
field values: AWS's ``MaxPostPreDataLengthExceededError`` beyond it), and stops at the
file part's headers. Nothing else is read until the caller has authenticated the form
and checked its policy; :meth:`FormReader.file_chunks` then yields the file's bytes as
they arrive, holding at most one network chunk plus a delimiter's length: the file is
never held whole. Parts after the file are never read (AWS ignores them).

Malformed framing is ``MalformedPOSTRequest``; a body that ends before the file's closing
delimiter is ``IncompleteBody``; a form without a ``file`` part is
``IncorrectNumberOfFilesInPostRequest``. A field sent twice is refused (``InvalidArgument``):
the policy could otherwise check one value while another is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp.helpers import parse_mimetype
from aiohttp.multipart import parse_content_disposition

from gateway.s3.errors import S3Error

__all__ = ["FileHeader", "FormReader", "boundary_of"]

MAX_PART_HEADERS = 8 * 1024
"""Bytes of one part's header block."""
_MALFORMED = "The body of your POST request is not well-formed multipart/form-data."
_BCHARS = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")

Reader = Callable[[], Awaitable[bytes]]


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` body; AWS's 412 ``PreconditionFailed``
    for any other enclosure type."""
    mime = parse_mimetype(content_type or "")
    if (mime.type, mime.subtype) != ("multipart", "form-data"):
        raise S3Error(
            "PreconditionFailed",
            extra={"Condition": "Bucket POST must be of the enclosure-type multipart/form-data"},
        )
    boundary = mime.parameters.get("boundary", "")
    encoded = boundary.encode("latin-1", "replace")
    if not 1 <= len(encoded) <= 70 or not set(encoded) <= _BCHARS or encoded.endswith(b" "):
        raise S3Error("MalformedPOSTRequest", _MALFORMED)
    return boundary


def _malformed() -> S3Error:
    return S3Error("MalformedPOSTRequest", _MALFORMED)


@dataclass(frozen=True, slots=True)
class FileHeader:
    """What the ``file`` part's headers say."""

    filename: str
    """The ``filename`` parameter as sent (``${filename}`` in the key becomes it)."""


class FormReader:
    """One form body, read once: fields, then the file."""

    def __init__(self, read: Reader, boundary: str, *, limit: int) -> None:
        self._read = read
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        # A CRLF in front lets the first boundary (which has none) match the delimiter.
        self._buf = bytearray(b"\r\n")
        self._eof = False
        self._limit = limit
        self._used = -2  # the CRLF above is not the client's
        self._file_started = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _consume(self, count: int) -> bytes:
        taken = bytes(self._buf[:count])
        del self._buf[:count]
        self._used += count
        if self._used > self._limit:
            raise S3Error("MaxPostPreDataLengthExceededError")
        return taken

    def _over_budget(self) -> bool:
        return self._used + len(self._buf) > self._limit + len(self._delimiter) + 4

    async def _find(self, token: bytes, *, cap: int | None = None) -> int:
        """The offset of ``token`` in the buffer, reading more as needed (pre-file data
        only: bounded by the budget, and by ``cap`` bytes when given)."""
        while True:
            found = self._buf.find(token)
            if found >= 0:
                return found
            if self._over_budget():
                raise S3Error("MaxPostPreDataLengthExceededError")
            if cap is not None and len(self._buf) > cap:
                raise _malformed()
            if not await self._fill():
                raise _malformed()

    async def _need(self, count: int) -> None:
        while len(self._buf) < count:
            if not await self._fill():
                raise _malformed()

    async def _next_part(self) -> dict[str, str] | None:
        """After a delimiter: the next part's headers, or None at the closing one."""
        await self._need(2)
        if self._buf[:2] == b"--":
            return None
        line_end = await self._find(b"\r\n", cap=256)
        if self._buf[:line_end].strip(b" \t"):  # only transport padding may follow
            raise _malformed()
        self._consume(line_end + 2)
        await self._need(2)
        if self._buf[:2] == b"\r\n":
            self._consume(2)
            return {}
        end = await self._find(b"\r\n\r\n", cap=MAX_PART_HEADERS)
        if end > MAX_PART_HEADERS:
            raise _malformed()
        block = self._consume(end + 4)[:end]
        headers: dict[str, str] = {}
        for line in block.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                raise _malformed()
            try:
                headers[name.strip().decode("ascii").lower()] = value.strip().decode("utf-8")
            except UnicodeDecodeError:
                raise _malformed() from None
        return headers

    async def read_fields(self) -> tuple[dict[str, str], FileHeader]:
        """Every field before the ``file`` part (lower-case names, UTF-8 values) and the
        file part's headers. The reader then stands at the file's first byte."""
        start = await self._find(self._delimiter)
        self._consume(start + len(self._delimiter))
        fields: dict[str, str] = {}
        while True:
            headers = await self._next_part()
            if headers is None:
                raise S3Error(
                    "IncorrectNumberOfFilesInPostRequest",
                    extra={"ArgumentName": "file", "ArgumentValue": "0"},
                )
            disposition, params = parse_content_disposition(headers.get("content-disposition"))
            name = params.get("name")
            if disposition != "form-data" or not name:
                raise _malformed()
            name = name.lower()
            if name == "file":
                return fields, FileHeader(params.get("filename", ""))
            end = await self._find(self._delimiter)
            raw = self._consume(end + len(self._delimiter))[:end]
            if name in fields:
                raise S3Error(
                    "InvalidArgument",
                    f"The form field {name} appears more than once",
                    extra={"ArgumentName": name},
                )
            try:
                fields[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise S3Error(
                    "InvalidArgument",
                    f"The form field {name} is not valid UTF-8",
                    extra={"ArgumentName": name},
                ) from None

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, as they arrive, up to its closing delimiter."""
        if self._file_started:
            raise RuntimeError("the file part is read once")
        self._file_started = True
        delimiter = self._delimiter
        keep = len(delimiter) - 1
        while True:
            found = self._buf.find(delimiter)
            if found >= 0:
                if found:
                    yield bytes(self._buf[:found])
                del self._buf[: found + len(delimiter)]
                return
            safe = len(self._buf) - keep
            if safe > 0:
                yield bytes(self._buf[:safe])
                del self._buf[:safe]
            if not await self._fill():
                raise S3Error("IncompleteBody", "The form ended before the file's closing boundary")
