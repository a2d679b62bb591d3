"""Incremental aws-chunked decoding, with chunk and trailer signatures.

Wire format (signed modes)::

    <hex-size>;chunk-signature=<64 hex>\\r\\n<data>\\r\\n   ... repeated
    0;chunk-signature=<64 hex>\\r\\n
    [<trailer-name>:<value>\\r\\n ... x-amz-trailer-signature:<64 hex>\\r\\n]   (trailer mode)
    \\r\\n

``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` has no chunk extensions (``<hex-size>\\r\\n``) and
no trailer signature. Only the trailing headers announced in ``x-amz-trailer`` are
accepted, each once; everything after the final chunk (trailers, their signature, blank
lines) is capped at ``MAX_TRAILER_BYTES``, so a client cannot make the decoder hold more
than a few KiB however long it keeps sending (``MalformedTrailerError``, as S3).

Only the last data chunk may be smaller than ``MIN_CHUNK_SIZE`` (S3's
``InvalidChunkSizeError``), which bounds the work per payload byte.

Tolerated variations seen from real SDKs: a bare ``\\n`` line end, an empty line between
the final chunk and the trailers, and extra CRLFs after the end.

The decoder is a state machine over the bytes fed so far: data bytes are passed through
as memoryview slices of the input (no copy), only header and trailer lines are buffered.
Chunk signatures are checked as soon as a chunk's data is complete; the caller must not
commit anything before :meth:`ChunkDecoder.finish` returned.
"""

from __future__ import annotations

import hashlib
import re
from hmac import compare_digest

from sigv4.errors import (
    IncompleteBody,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    SignatureDoesNotMatch,
)
from sigv4.records import record
from sigv4.signing import EMPTY_SHA256, chunk_string_to_sign, sign, trailer_string_to_sign

__all__ = [
    "MAX_LINE",
    "MAX_TRAILERS",
    "MAX_TRAILER_BYTES",
    "MIN_CHUNK_SIZE",
    "ChunkDecoder",
    "ChunkSigner",
]

MAX_LINE = 4096  # longest chunk header or trailer line accepted
MAX_TRAILERS = 4
"""Most trailing headers one body may announce in ``x-amz-trailer`` (SDKs send one)."""
MIN_CHUNK_SIZE = 8192
"""Smallest data chunk but the last one, as S3 requires in every streaming mode
(``InvalidChunkSizeError``; SDKs send 64 KiB or more). It bounds the work per payload byte:
each chunk costs a header line parsed and, signed, one HMAC."""
MAX_TRAILER_BYTES = 16 * 1024
"""Most bytes after the final chunk: trailing headers, their signature, blank lines and
the tolerated extra CRLFs (an SDK's checksum trailer and signature take 150-200 bytes:
a SHA512 value is 88 base64 characters)."""

_SIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})")
_UNSIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,16})(?:;[^\r\n]*)?")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TRAILER_SIGNATURE = "x-amz-trailer-signature"

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


@record
class ChunkSigner:
    """What chunk signatures are computed from (see :class:`sigv4.auth.VerifiedRequest`)."""

    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str


def _malformed(detail: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed aws-chunked body: {detail}")


def _bad_trailer(detail: str) -> MalformedTrailerError:
    return MalformedTrailerError(
        "The request contained trailing data that was not well-formed or did not conform "
        f"to our published schema: {detail}"
    )


class ChunkDecoder:
    """Decode an aws-chunked body fed in arbitrary pieces."""

    __slots__ = (
        "_chunk_hash",
        "_chunk_signature",
        "_chunks",
        "_decoded",
        "_decoded_length",
        "_expected_trailers",
        "_last_size",
        "_line",
        "_previous",
        "_remaining",
        "_signer",
        "_state",
        "_tail",
        "_trailer_mode",
        "_trailer_signed",
        "_trailer_text",
        "trailers",
    )

    def __init__(
        self,
        *,
        decoded_length: int,
        signer: ChunkSigner | None,
        trailer_mode: bool,
        expected_trailers: frozenset[str] = frozenset(),
    ) -> None:
        if len(expected_trailers) > MAX_TRAILERS:
            raise InvalidRequest(f"At most {MAX_TRAILERS} trailing headers may be announced")
        self._decoded_length = decoded_length
        self._signer = signer
        self._previous = signer.seed_signature if signer is not None else ""
        self._trailer_mode = trailer_mode
        self._expected_trailers = expected_trailers
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._decoded = 0
        self._chunks = 0
        self._last_size = 0
        self._chunk_hash: hashlib._Hash | None = None
        self._chunk_signature = ""
        self._trailer_text: list[str] = []
        self._trailer_signed = False
        self._tail = 0
        self.trailers: dict[str, str] = {}
        """Trailing headers received, lower-case name -> trimmed value."""

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes | bytearray) -> list[memoryview]:
        """Consume wire bytes; return the payload pieces they completed (maybe none)."""
        view = memoryview(data)
        out: list[memoryview] = []
        pos = 0
        end = len(view)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DONE:
                if data[pos:].strip(b"\r\n"):
                    raise _malformed("data after the end of the body")
                self._count_tail(end - pos)
                pos = end
            else:
                limit = min(end, pos + MAX_LINE + 2 - len(self._line))
                newline = data.find(b"\n", pos, limit)
                stop = limit if newline < 0 else newline + 1
                if state == _TRAILER:
                    self._count_tail(stop - pos)
                self._line += view[pos:stop]
                pos = stop
                if len(self._line) > MAX_LINE:
                    raise _malformed("chunk header or trailer line too long")
                if newline >= 0:
                    line = bytes(self._line[:-1]).removesuffix(b"\r")
                    self._line.clear()
                    self._on_line(line)
        return out

    def _count_tail(self, size: int) -> None:
        self._tail += size
        if self._tail > MAX_TRAILER_BYTES:
            raise _bad_trailer(f"more than {MAX_TRAILER_BYTES} bytes after the final chunk")

    def finish(self) -> None:
        """The wire body ended: raise unless the chunked body was complete."""
        if self._state != _DONE:
            raise IncompleteBody("The request body terminated unexpectedly")

    # -- lines ---------------------------------------------------------------------------

    def _on_line(self, line: bytes) -> None:
        state = self._state
        if state == _DATA_END:
            if line:
                raise _malformed("chunk data longer than its declared size")
            self._end_chunk()
            self._state = _HEADER
        elif state == _HEADER:
            self._on_chunk_header(line)
        else:
            self._on_trailer_line(line)

    def _on_chunk_header(self, line: bytes) -> None:
        if self._signer is not None:
            match = _SIGNED_HEADER.fullmatch(line)
            if match is None:
                raise _malformed(f"bad chunk header {line[:80]!r}")
            self._chunk_signature = match.group(2).decode("ascii")
        else:
            match = _UNSIGNED_HEADER.fullmatch(line)
            if match is None:
                raise _malformed(f"bad chunk header {line[:80]!r}")
        size = int(match.group(1), 16)
        self._chunks += 1
        if size:
            if self._chunks > 1 and self._last_size < MIN_CHUNK_SIZE:
                # S3's answer: the number of the chunk that showed the previous one
                # was not the last, and that one's size.
                raise InvalidChunkSizeError(
                    f"Only the last chunk is allowed to have a size less than {MIN_CHUNK_SIZE} "
                    "bytes",
                    extra={"Chunk": str(self._chunks), "BadChunkSize": str(self._last_size)},
                )
            self._last_size = size
        self._decoded += size
        if self._decoded > self._decoded_length:
            raise IncompleteBody(
                "The chunked body is longer than x-amz-decoded-content-length "
                f"({self._decoded_length})"
            )
        if size:
            self._remaining = size
            self._chunk_hash = hashlib.sha256() if self._signer is not None else None
            self._state = _DATA
            return
        # The final, empty chunk.
        if self._decoded != self._decoded_length:
            raise IncompleteBody(
                f"The chunked body decoded to {self._decoded} bytes; "
                f"x-amz-decoded-content-length says {self._decoded_length}"
            )
        self._chunk_hash = None
        self._end_chunk()
        self._state = _TRAILER

    def _end_chunk(self) -> None:
        if self._signer is None:
            return
        digest = self._chunk_hash.hexdigest() if self._chunk_hash is not None else EMPTY_SHA256
        self._chunk_hash = None
        signer = self._signer
        sts = chunk_string_to_sign(signer.amz_date, signer.scope, self._previous, digest)
        expected = sign(signer.signing_key, sts)
        if not compare_digest(expected, self._chunk_signature):
            raise SignatureDoesNotMatch(
                "The chunk signature we calculated does not match the signature you provided.",
                extra={"SignatureProvided": self._chunk_signature},
                string_to_sign=sts,
            )
        self._previous = expected

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            if self.trailers or self._trailer_signed:
                missing = self._expected_trailers - self.trailers.keys()
                if missing:
                    raise _bad_trailer(f"missing trailer {', '.join(sorted(missing))}")
                if self._signer is not None and not self._trailer_signed:
                    raise SignatureDoesNotMatch("The trailing headers carry no signature")
                self._state = _DONE
            elif not self._expected_trailers or not self._trailer_mode:
                self._state = _DONE
            # else: an empty line before the trailers arrive (tolerated)
            return
        if not self._trailer_mode:
            raise _malformed("trailing headers in a payload mode without trailers")
        if self._trailer_signed:
            raise _malformed("trailing header after the trailer signature")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise _malformed("non-ASCII trailing header") from None
        name, sep, value = text.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if not sep or not name:
            raise _malformed(f"bad trailing header {text[:80]!r}")
        if name == _TRAILER_SIGNATURE:
            self._check_trailer_signature(value)
            return
        if name not in self._expected_trailers:
            raise _bad_trailer(f"{name} was not announced in x-amz-trailer")
        if name in self.trailers:
            raise _bad_trailer(f"repeated trailing header {name}")
        self.trailers[name] = value
        self._trailer_text.append(f"{name}:{value}\n")

    def _check_trailer_signature(self, value: str) -> None:
        signer = self._signer
        if signer is None:
            raise _malformed("x-amz-trailer-signature in an unsigned payload mode")
        if not _SIGNATURE.fullmatch(value):
            raise _malformed("x-amz-trailer-signature must be 64 hex digits")
        digest = hashlib.sha256("".join(self._trailer_text).encode("ascii")).hexdigest()
        sts = trailer_string_to_sign(signer.amz_date, signer.scope, self._previous, digest)
        expected = sign(signer.signing_key, sts)
        if not compare_digest(expected, value):
            raise SignatureDoesNotMatch(
                "The trailer signature we calculated does not match the signature you provided.",
                extra={"SignatureProvided": value},
                string_to_sign=sts,
            )
        self._previous = expected
        self._trailer_signed = True
