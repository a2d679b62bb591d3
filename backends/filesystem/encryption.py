"""Encryption at rest for the filesystem backend: AES-256-GCM in authenticated segments.

An encrypted data file is one *stream* per part (one for a single PUT): ::

    stream  = header || segment 0 || segment 1 || ... || segment n-1
    header  = magic "NFYE" (4) || format version 1 (1) || mode (1) || log2 segment size (1)
              || reserved 0 (1) || key id (8) || nonce prefix (8) || wrap nonce (12)
              || wrapped data key (32 + 16-byte tag)                        = 84 bytes
    segment = AES-256-GCM(data key, nonce = nonce prefix || uint32 index,
                          plaintext of up to 64 KiB,
                          AAD = uint64 index || final flag (1 byte)) || tag (16)

- Every stream has its own random 256-bit data key, so nonces never repeat under a key;
  the nonce prefix is random too and the index counts segments from 0.
- All segments hold exactly 64 KiB of plaintext except the last, which holds 1..64 KiB
  (0 bytes only for an empty stream) and carries the final flag: a stream cut short at a
  segment boundary, segments swapped, or one moved from another object never decrypts.
  The plaintext size recorded in the metadata row tells a reader which segment is last.
- The data key is wrapped with AES-256-GCM under a key-encryption key (KEK), the header's
  first 36 bytes as associated data. Mode 1 (SSE-S3): the KEK derives from the gateway's
  ``sse`` key and the *key id* names which one (so data wrapped under an earlier master key
  still opens while the earlier key is configured, and a re-wrap only rewrites headers).
  Mode 2 (SSE-C): the KEK derives from the client's key; the key id is zero.
- The metadata row keeps the plaintext size and part sizes, so the byte position of any
  plaintext offset is computed, and a ranged GET decrypts only the segments it touches.

This module knows bytes and keys only; which objects are encrypted how is ``sse.py``.
"""

from __future__ import annotations

import base64
import bisect
import hmac
import os
import struct
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backends.errors import BackendError
from backends.filesystem.page_cache import in_page_cache
from sigv4.records import record

__all__ = [
    "HEADER",
    "MAGIC",
    "MODE_CUSTOMER",
    "MODE_MANAGED",
    "SEGMENT",
    "TAG",
    "KeySet",
    "Layout",
    "PlainReader",
    "RawReader",
    "ReadAt",
    "Sealer",
    "StreamKey",
    "customer_kek",
    "rewrap_header",
    "segments",
    "sse_key_id",
    "stream_length",
]

MAGIC = b"NFYE"
FORMAT_VERSION = 1
MODE_MANAGED = 1
"""SSE-S3: the data key is wrapped by a key the gateway derives from its master key."""
MODE_CUSTOMER = 2
"""SSE-C: the data key is wrapped by a key derived from the client's key."""
SEGMENT_SHIFT = 16
SEGMENT = 1 << SEGMENT_SHIFT
"""Plaintext bytes per segment (64 KiB)."""
TAG = 16
_FIXED = struct.Struct(">4sBBBx8s8s12s")
"""magic, version, mode, segment shift, reserved, key id, nonce prefix, wrap nonce."""
HEADER = _FIXED.size + 32 + TAG
_NO_KEY_ID = bytes(8)
OPENED_KEYS = 1024
"""SSE-S3 data keys kept opened per process (``KeySet.remember``): about 2.6 KiB each
(OpenSSL keeps a cipher context per key), under 3 MiB in all."""
_MAX_SEGMENTS = 1 << 32


def segments(size: int) -> int:
    """Segments of a stream holding ``size`` plaintext bytes (an empty one has one)."""
    return max(1, -(-size // SEGMENT))


def stream_length(size: int) -> int:
    """Bytes on disk of a stream holding ``size`` plaintext bytes."""
    return HEADER + size + TAG * segments(size)


_AAD = struct.Struct(">QB")


def _aad(index: int, final: bool) -> bytes:
    return _AAD.pack(index, 1 if final else 0)


def _hkdf(key: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"nfyio-gateway/sse/v1/" + purpose.encode("ascii"),
    ).derive(key)


def _key_id(sse_key: bytes) -> bytes:
    return hmac.digest(sse_key, b"nfyio-gateway/sse/v1/key-id", "sha256")[:8]


def sse_key_id(sse_key: bytes) -> bytes:
    """The 8-byte id that SSE-S3 headers and SSE-C HMACs written under ``sse_key`` carry."""
    return _key_id(sse_key)


def rewrap_header(header: bytes, keys: KeySet) -> bytes | None:
    """The header of an SSE-S3 stream with its data key wrapped under ``keys``' current key
    (a fresh wrap nonce; data key, nonce prefix and so every segment unchanged). None when
    it already is, or the stream is SSE-C (whose key the gateway never has)."""
    if len(header) != HEADER:
        raise BackendError("InternalError", "encrypted object data is truncated")
    magic, version, mode, shift, key_id, prefix, wrap_nonce = _FIXED.unpack_from(header)
    if magic != MAGIC or version != FORMAT_VERSION or shift != SEGMENT_SHIFT:
        raise BackendError("InternalError", "unknown encrypted data format")
    if mode != MODE_MANAGED or key_id == keys.current_id:
        return None
    try:
        data_key = keys.managed_kek(key_id).decrypt(
            wrap_nonce, header[_FIXED.size :], header[: _FIXED.size]
        )
    except InvalidTag:
        raise BackendError("InternalError", "a data key does not open with its key") from None
    fixed = _FIXED.pack(MAGIC, FORMAT_VERSION, mode, shift, keys.current_id, prefix, os.urandom(12))
    return fixed + keys.managed_kek(keys.current_id).encrypt(fixed[-12:], data_key, fixed)


def customer_kek(customer_key: bytes) -> AESGCM:
    """The KEK of an SSE-C stream (derived, so the client's key itself encrypts nothing)."""
    return AESGCM(_hkdf(customer_key, "customer-wrap"))


class KeySet:
    """The backend's key material: KEKs for SSE-S3 and the HMAC key for SSE-C checks.

    ``sse_key`` is the 32-byte key the gateway derives from its master key (the ``sse``
    purpose of its keyring); ``previous`` are the keys of earlier master keys, still
    accepted for reading (data wrapped under them opens; new data uses ``sse_key``).
    """

    __slots__ = ("_hmac", "_opened", "_wrap", "current_id")

    def __init__(self, sse_key: bytes, previous: Sequence[bytes] = ()) -> None:
        if len(sse_key) != 32 or any(len(k) != 32 for k in previous):
            raise ValueError("SSE keys are 32 bytes")
        self.current_id = _key_id(sse_key)
        self._opened: dict[bytes, StreamKey] = {}
        self._wrap: dict[bytes, AESGCM] = {}
        self._hmac: dict[bytes, bytes] = {}
        for key in (sse_key, *previous):
            key_id = _key_id(key)
            self._wrap.setdefault(key_id, AESGCM(_hkdf(key, "wrap")))
            self._hmac.setdefault(key_id, _hkdf(key, "customer-key-hmac"))

    def managed_kek(self, key_id: bytes) -> AESGCM:
        kek = self._wrap.get(key_id)
        if kek is None:
            raise BackendError(
                "InternalError",
                f"object data is wrapped by an unknown key (id {key_id.hex()}): "
                "configure the master key it was written under",
            )
        return kek

    def opened(self, header: bytes) -> StreamKey | None:
        """The data key of an SSE-S3 stream header opened before in this process."""
        return self._opened.get(header)

    def remember(self, header: bytes, key: StreamKey) -> None:
        """Keep an opened SSE-S3 data key by its header (never an SSE-C one: that must be
        opened with the key each request brings). The header names the key for good: it
        holds the wrapped key, its nonce and the KEK's id, and opened only because its tag
        matched. At most ``OPENED_KEYS`` are kept, the oldest going first."""
        opened = self._opened
        if len(opened) >= OPENED_KEYS:
            del opened[next(iter(opened))]
        opened[header] = key

    def customer_hmac(self, customer_key: bytes) -> str:
        """``<key id hex>:<base64 HMAC-SHA256>`` of an SSE-C key, as stored with the
        object: the key is never stored, and without the gateway's key the HMAC does not
        help guess it."""
        digest = hmac.digest(self._hmac[self.current_id], customer_key, "sha256")
        return f"{self.current_id.hex()}:{base64.b64encode(digest).decode('ascii')}"

    def customer_key_matches(self, stored: str | None, customer_key: bytes) -> bool:
        """Whether ``customer_key`` is the one ``stored`` (``customer_hmac``) was made of.
        An HMAC keyed under a master key not configured (rotated away from and dropped)
        checks nothing: that is an ``InternalError`` naming the key, not a wrong key."""
        key_id_hex, _, value = (stored or "").partition(":")
        try:
            key_id = bytes.fromhex(key_id_hex)
            expected = base64.b64decode(value, validate=True)
        except ValueError:
            return False
        hmac_key = self._hmac.get(key_id)
        if hmac_key is None:
            raise BackendError(
                "InternalError",
                f"the object's SSE-C key check was made under an unknown key (id "
                f"{key_id.hex()}): configure the master key it was written under",
            )
        return hmac.compare_digest(hmac.digest(hmac_key, customer_key, "sha256"), expected)

    def __repr__(self) -> str:
        return f"KeySet(current={self.current_id.hex()}, keys={len(self._wrap)})"


class Sealer:
    """Encrypts one stream: ``header`` first, then ``seal`` over the plaintext in order.

    Every call but the last must pass a whole number of segments; the last passes
    ``final=True`` and whatever is left (1..64 KiB, or nothing for an empty stream).
    """

    __slots__ = ("_aead", "_index", "_prefix", "header")

    def __init__(self, kek: AESGCM, *, mode: int, key_id: bytes = _NO_KEY_ID) -> None:
        data_key = os.urandom(32)
        self._prefix = os.urandom(8)
        fixed = _FIXED.pack(
            MAGIC, FORMAT_VERSION, mode, SEGMENT_SHIFT, key_id, self._prefix, os.urandom(12)
        )
        wrap_nonce = fixed[-12:]
        self.header = fixed + kek.encrypt(wrap_nonce, data_key, fixed)
        self._aead = AESGCM(data_key)
        self._index = 0

    def seal(self, data: bytes | memoryview, *, final: bool) -> bytes:
        size = len(data)
        if final:
            count = segments(size)
        else:
            if size % SEGMENT:
                raise ValueError("only the final call may hold a partial segment")
            count = size // SEGMENT
        if self._index + count > _MAX_SEGMENTS:
            raise BackendError("EntityTooLarge", "object too large to encrypt")
        out: list[bytes] = []
        aead, prefix, index = self._aead, self._prefix, self._index
        for n in range(count):
            last = final and n == count - 1
            piece = data[n * SEGMENT : (n + 1) * SEGMENT]
            out.append(aead.encrypt(prefix + index.to_bytes(4, "big"), piece, _aad(index, last)))
            index += 1
        self._index = index
        return b"".join(out)


@record
class StreamKey:
    """The opened data key of one stream."""

    aead: AESGCM
    prefix: bytes

    def open(self, index: int, blob: bytes | memoryview, *, final: bool) -> bytes:
        try:
            return self.aead.decrypt(
                self.prefix + index.to_bytes(4, "big"), blob, _aad(index, final)
            )
        except InvalidTag:
            raise BackendError(
                "InternalError", "encrypted object data failed authentication"
            ) from None


Unwrap = Callable[[bytes], StreamKey]
"""Opens a stream's header (raises ``BackendError`` when the key is wrong or unknown)."""


def unwrapper(keys: KeySet, customer_key: bytes | None) -> Unwrap:
    """How to open the headers of one object's streams."""

    def unwrap(header: bytes) -> StreamKey:
        if len(header) != HEADER:
            raise BackendError("InternalError", "encrypted object data is truncated")
        known = keys.opened(header)  # SSE-S3 headers only
        if known is not None:
            return known
        magic, version, mode, shift, key_id, prefix, wrap_nonce = _FIXED.unpack_from(header)
        if magic != MAGIC or version != FORMAT_VERSION or shift != SEGMENT_SHIFT:
            raise BackendError("InternalError", "unknown encrypted data format")
        if mode == MODE_MANAGED:
            kek = keys.managed_kek(key_id)
        elif mode == MODE_CUSTOMER and customer_key is not None:
            kek = customer_kek(customer_key)
        else:
            raise BackendError("InternalError", "encrypted data of an unexpected mode")
        try:
            data_key = kek.decrypt(wrap_nonce, header[_FIXED.size :], header[: _FIXED.size])
        except InvalidTag:
            raise BackendError(
                "AccessDenied" if mode == MODE_CUSTOMER else "InternalError",
                "The data key of the object does not open with the key given",
            ) from None
        opened = StreamKey(AESGCM(data_key), prefix)
        if mode == MODE_MANAGED:
            keys.remember(header, opened)
        return opened

    return unwrap


class ReadAt(Protocol):
    """Plaintext of one object at any offset (blocking reads)."""

    def read(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``pos``: fewer at an internal boundary, never none
        before the end."""
        ...

    def cached(self, pos: int, n: int) -> bool:
        """Whether ``read(pos, n)`` would find its file bytes in the page cache (so it
        may run on the event loop: see ``page_cache``)."""
        ...


class RawReader:
    """An unencrypted data file."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self, pos: int, n: int) -> bytes:
        data = os.pread(self._fd, n, pos)
        if not data and n > 0:
            raise BackendError("InternalError", "data file shorter than recorded")
        return data

    def cached(self, pos: int, n: int) -> bool:
        return n <= 0 or in_page_cache(self._fd, pos, n)


class BytesReader:
    """Stored bytes already in memory (a small object kept in the metadata database,
    ``inline.py``): ``RawReader``'s counterpart."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, pos: int, n: int) -> bytes:
        return self._data[pos : pos + n]

    def cached(self, pos: int, n: int) -> bool:
        return True


class SoleSegmentReader:
    """The plaintext of a one-segment stream held in memory: every small encrypted
    object kept in the metadata database (``inline.py``). The segment is opened on the
    first read, whole (the read of a small object asks for all of it); ``PlainReader``
    does the same for any layout, with the span arithmetic this does not need."""

    __slots__ = ("_plain", "_size", "_stored", "_unwrap")

    def __init__(self, stored: bytes, size: int, unwrap: Unwrap) -> None:
        """``size``: the plaintext's, 1 to ``SEGMENT`` bytes."""
        self._stored = stored
        self._size = size
        self._unwrap = unwrap
        self._plain: bytes | None = None

    def read(self, pos: int, n: int) -> bytes:
        plain = self._plain
        if plain is None:
            stored, end = self._stored, HEADER + self._size + TAG
            if len(stored) < end:
                raise BackendError("InternalError", "encrypted object data is truncated")
            key = self._unwrap(stored[:HEADER])
            plain = self._plain = key.open(0, stored[HEADER:end], final=True)
        if pos == 0 and n >= len(plain):
            return plain
        return plain[pos : pos + n]

    def cached(self, pos: int, n: int) -> bool:
        return True


class Layout:
    """Where each plaintext byte of an encrypted object sits: one stream per part."""

    __slots__ = ("disk_starts", "plain_starts", "sizes")

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = tuple(sizes) or (0,)
        self.plain_starts: list[int] = [0]
        self.disk_starts: list[int] = [0]
        plain = disk = 0
        for size in self.sizes[:-1]:  # where each stream after the first starts
            plain += size
            disk += stream_length(size)
            self.plain_starts.append(plain)
            self.disk_starts.append(disk)

    def stream_of(self, pos: int) -> int:
        return bisect.bisect_right(self.plain_starts, pos) - 1


class _Span(NamedTuple):
    """Where a plaintext range lies in one stream of an encrypted data file."""

    stream: int
    offset: int
    """Of the range's first byte in the stream's plaintext."""
    end: int
    """Of the byte after the range in the stream's plaintext (clipped to the stream)."""
    first: int
    """Segment holding ``offset``."""
    last: int
    """Segment holding ``end - 1``."""
    final: int
    """The stream's last segment (the short one, sealed as final)."""
    start: int
    """File offset of segment ``first``."""
    length: int
    """File bytes of segments ``first..last``."""


class PlainReader:
    """The plaintext of an encrypted data file: reads decrypt just the segments asked for.

    Stream headers are opened on first use and remembered, so a ranged read of a
    10,000-part object opens only the parts the range touches.
    """

    __slots__ = ("_data", "_fd", "_keys", "_layout", "_unwrap")

    def __init__(self, source: int | bytes, layout: Layout, unwrap: Unwrap) -> None:
        """``source``: the open data file, or the stored bytes themselves (``inline.py``)."""
        self._fd = source if isinstance(source, int) else -1
        self._data: bytes | None = None if isinstance(source, int) else source
        self._layout = layout
        self._unwrap = unwrap
        self._keys: dict[int, StreamKey] = {}

    def _pread(self, n: int, pos: int) -> bytes:
        data = self._data
        return os.pread(self._fd, n, pos) if data is None else data[pos : pos + n]

    def _in_cache(self, pos: int, n: int) -> bool:
        return self._data is not None or in_page_cache(self._fd, pos, n)

    def _key(self, stream: int) -> StreamKey:
        key = self._keys.get(stream)
        if key is None:
            start = self._layout.disk_starts[stream]
            key = self._keys[stream] = self._unwrap(self._pread(HEADER, start))
        return key

    def uncached_header(self, pos: int) -> tuple[int, int] | None:
        """(file offset, length) of the header ``prepare(pos)`` would read from the disk;
        None when its stream is open or the header is in the page cache."""
        stream = self._layout.stream_of(pos)
        start = self._layout.disk_starts[stream]
        if stream in self._keys or self._in_cache(start, HEADER):
            return None
        return start, HEADER

    def prepare(self, pos: int) -> None:
        """Open the header of the stream holding ``pos`` now, so a key that does not open
        it fails the request before any byte (or status line) is sent."""
        self._key(self._layout.stream_of(pos))

    def _span(self, pos: int, n: int) -> _Span | None:
        """The segments holding plaintext ``pos..pos+n-1``; None past the end."""
        layout = self._layout
        stream = layout.stream_of(pos)
        offset = pos - layout.plain_starts[stream]
        size = layout.sizes[stream]
        end = min(offset + n, size)
        if end <= offset:
            return None
        first, last = offset // SEGMENT, (end - 1) // SEGMENT
        final = segments(size) - 1
        stored = SEGMENT + TAG
        tail = size - final * SEGMENT + TAG  # stored size of the final segment
        return _Span(
            stream,
            offset,
            end,
            first,
            last,
            final,
            start=layout.disk_starts[stream] + HEADER + first * stored,
            length=(last - first) * stored + (tail if last == final else stored),
        )

    def cached(self, pos: int, n: int) -> bool:
        span = self._span(pos, n)
        if span is None:
            return True
        if span.stream not in self._keys:
            return False  # its header is still to be read as well
        return self._in_cache(span.start, span.length)

    def read(self, pos: int, n: int) -> bytes:
        span = self._span(pos, n)
        if span is None:
            return b""
        key = self._key(span.stream)
        first, stored = span.first, SEGMENT + TAG
        blob = self._pread(span.length, span.start)
        if len(blob) != span.length:
            raise BackendError("InternalError", "encrypted object data is truncated")
        if first == span.last:  # one segment (every small object): no view, no join
            plain = key.open(first, blob, final=first == span.final)
        else:
            view = memoryview(blob)
            plain = b"".join(
                key.open(
                    index,
                    view[(index - first) * stored : (index - first + 1) * stored],
                    final=index == span.final,
                )
                for index in range(first, span.last + 1)
            )
        skip = span.offset - first * SEGMENT
        return plain[skip : skip + (span.end - span.offset)]
