"""How the filesystem backend's object rows store their columns: times as integer
microseconds, and the metadata, checksums, lock and tags columns as compact JSON (written
by C encoders made once, read through bounded memos). Split from ``metadb`` (the
database and its rows), which imports these."""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from types import MappingProxyType
from typing import Any

import backends.sqlite_binding  # noqa: F401  (bytes and None bound without a probe)
from backends.locks import retention_date
from backends.types import ObjectLock, ObjectMeta, Tags

META_CACHE_MAX_CHARS = 1024
"""The longest metadata JSON ``meta_from_json`` keeps decoded (4,096 texts: at most about
10 MiB with their decoded copies); longer texts are decoded on each read."""


def now_us() -> int:
    return time.time_ns() // 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
_LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def from_us(value: int) -> datetime:
    """A stored time (integer microseconds since 1970, UTC), for every column: exact,
    in integers, where a float (``fromtimestamp(value / 1e6)``) is exact only up to
    about the year 2242 and rounded a client's retain-until date of
    9999-12-31T23:59:59.999999Z to the year 10000, which no ``datetime`` holds (every read
    of the version and every ListObjectVersions of its bucket failed). It is also the
    cheaper of the two, and listings convert one time per key: 2,938 against 3,180
    instructions per call (callgrind), 447 against 598 ns (timeit, best of 25). A value
    past the last instant (the year 10000, stored by a gateway before) reads as it."""
    try:
        return _EPOCH + _MICROSECOND * value
    except OverflowError:
        return _LAST_INSTANT if value > 0 else _FIRST_INSTANT


_META_FIELDS = tuple(f.name for f in dataclasses.fields(ObjectMeta))
_meta_values = operator.attrgetter(*_META_FIELDS)


_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""``json.dumps(..., separators=...)`` makes a new encoder per call; the columns written
on every PUT share this one."""
_COMPACT_UNICODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _one_shot(encoder: json.JSONEncoder) -> Callable[[object], str]:
    """``encoder.encode`` as one call into C: ``JSONEncoder.encode`` builds its C encoder
    (``c_make_encoder``, with the encoder's own settings) again for every document,
    ~12k of the ~16k instructions of a PUT's small column. The same C encoder, built
    once, writes the same text (tests/backends/test_filesystem_row_json.py); it is given no
    ``markers`` dict (the check for a document holding itself, which these columns'
    dicts, lists and strings cannot). Without the C module, ``encoder.encode`` itself."""
    if c_make_encoder is None:  # pragma: no cover  (CPython has it)
        return encoder.encode
    made = c_make_encoder(
        None,
        encoder.default,
        encode_basestring_ascii if encoder.ensure_ascii else encode_basestring,
        encoder.indent,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: object) -> str:
        return "".join(made(value, 0))

    return encode


_compact = _one_shot(_COMPACT)
_compact_unicode = _one_shot(_COMPACT_UNICODE)


def meta_to_json(meta: ObjectMeta) -> str:
    # the fields in their order, None left out: one attrgetter call, not a getattr each
    # (nor dataclasses.asdict, which deep-copies and costs ~4x more)
    values: dict[str, object] = {}
    for name, value in zip(_META_FIELDS, _meta_values(meta), strict=True):
        if value is not None:
            values[name] = value
    values["user_metadata"] = dict(meta.user_metadata)  # in its place: it is never None
    return _compact(values)


def meta_from_json(text: str) -> ObjectMeta:
    """Decoded metadata, cached up to ``META_CACHE_MAX_CHARS``: most objects of a bucket
    share the same few JSON texts.

    The result may be shared, so its ``user_metadata`` is a read-only mapping.
    """
    if len(text) <= META_CACHE_MAX_CHARS:
        return _cached_meta(text)
    return _decode_meta(text)


@functools.lru_cache(maxsize=4096)
def _cached_meta(text: str) -> ObjectMeta:
    return _decode_meta(text)


def _decode_meta(text: str) -> ObjectMeta:
    fields = json.loads(text)
    fields["user_metadata"] = MappingProxyType(fields.get("user_metadata", {}))
    return ObjectMeta(**fields)


_NO_CHECKSUMS: Mapping[str, str] = MappingProxyType({})


_ONE_CHECKSUM = re.compile(r'\{"([A-Z0-9]+)":"([A-Za-z0-9+/=]*)"\}')
"""``checksums_to_json`` of a single checksum, the usual case (no escapes possible)."""


def checksums_from_json(text: str) -> Mapping[str, str]:
    if text == "{}":
        return _NO_CHECKSUMS
    # json.loads costs ~3 us for this tiny document, the match ~0.4 us; listings decode
    # one per key
    one = _ONE_CHECKSUM.fullmatch(text)
    if one is not None:
        return MappingProxyType({one[1]: one[2]})
    return MappingProxyType(json.loads(text))


def checksums_to_json(checksums: Mapping[str, str]) -> str:
    return _compact(dict(checksums))


def lock_to_json(lock: ObjectLock | None) -> str | None:
    """The ``lock`` column: None when the version has neither retention nor legal hold."""
    if lock is None or (lock.mode is None and lock.legal_hold is None):
        return None
    value: dict[str, Any] = {}
    if lock.mode is not None and lock.retain_until is not None:
        value["mode"] = lock.mode
        value["until"] = (lock.retain_until - _EPOCH) // _MICROSECOND
    if lock.legal_hold is not None:
        value["hold"] = lock.legal_hold
    return _compact(value)


def lock_from_json(text: str | None) -> ObjectLock | None:
    """The ``lock`` column. The retain-until date to the millisecond
    (``backends.locks.retention_date``): dates are stored so since they are fixed at
    parse; a row a gateway stored before with a client's microseconds reads as the date
    GetObjectRetention answers for it, so that date sent back is not a shortening."""
    if text is None:
        return None
    value = json.loads(text)
    until = value.get("until")
    return ObjectLock(
        mode=value.get("mode"),
        retain_until=None if until is None else retention_date(from_us(until)),
        legal_hold=value.get("hold"),
    )


def tags_to_json(tags: Tags) -> str | None:
    """The ``tags`` column: None for an empty tag set."""
    if not tags:
        return None
    return _compact_unicode([list(pair) for pair in tags])


def tags_from_json(text: str | None) -> Tags:
    if text is None:
        return ()
    return tuple((str(k), str(v)) for k, v in json.loads(text))


def tag_count(text: str | None) -> int:
    return 0 if text is None else len(json.loads(text))
