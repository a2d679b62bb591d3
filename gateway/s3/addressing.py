"""Bucket and key from the raw request target (path-style) or the Host (virtual-hosted)."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote

from gateway.s3.errors import S3Error
from gateway.s3.operations import Target
from sigv4.records import record
from sigv4.request import bad_escape

__all__ = [
    "MAX_KEY_BYTES",
    "Address",
    "check_bucket_name",
    "check_existing_bucket_name",
    "check_key",
    "creatable_bucket_name",
    "parse_address",
    "split_target",
    "valid_bucket_name",
]

MAX_KEY_BYTES = 1024
# Full matches only: with ``match`` and ``$``, "name\n" would pass ("$" also matches
# before a trailing newline) and become a second bucket beside "name".
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")


@record
class Address:
    target: Target
    bucket: str | None
    key: str | None
    raw_path: str
    raw_query: str
    virtual_host: bool = False

    @property
    def bucket_path(self) -> str:
        """``/bucket`` when the bucket came from the Host (SigV2 signs it in the path)."""
        return f"/{self.bucket}" if self.virtual_host and self.bucket else ""


def split_target(request_target: str) -> tuple[str, str]:
    """(raw path, raw query) of the request line's target, untouched.

    An absolute-form target's authority ends at the first ``/``, ``?`` or ``#``
    (RFC 3986 3.2): ``http://h?x/b/k`` is the path ``/`` with the query ``x/b/k``, as a
    proxy in front reads it. Taking everything from the first ``/`` read it as the
    object ``/b/k``, which a path rule at the proxy had not seen."""
    if request_target.startswith(("http://", "https://")):
        after_scheme = request_target.split("://", 1)[1]
        end = _AUTHORITY_END.search(after_scheme)
        request_target = after_scheme[end.start() :] if end is not None else "/"
    path, _, query = request_target.partition("?")
    return path or "/", query


_AUTHORITY_END = re.compile(r"[/?#]")


def _decode(raw: str) -> str:
    """A path component, percent-decoded; a ``%`` that starts no escape (``a%zz``: S3
    refuses it, and a lenient decoding names the key ``a%zz`` that ``a%25zz`` names) or
    invalid UTF-8 is ``InvalidURI``."""
    if "%" not in raw:  # nothing to decode (what the two calls below find too)
        return raw
    if bad_escape(raw):
        raise S3Error("InvalidURI")
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise S3Error("InvalidURI") from exc


def parse_address(request_target: str, host: str | None, domain: str | None) -> Address:
    raw_path, raw_query = split_target(request_target)
    bucket: str | None = None
    rest = raw_path[1:] if raw_path.startswith("/") else raw_path
    if domain and host:
        hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
        suffix = "." + domain.lower()
        if hostname.endswith(suffix) and len(hostname) > len(suffix):
            bucket = hostname[: -len(suffix)]
            key = _decode(rest)
            if not key:
                return Address(Target.BUCKET, bucket, None, raw_path, raw_query, True)
            return Address(Target.OBJECT, bucket, key, raw_path, raw_query, True)
    if not rest:
        return Address(Target.SERVICE, None, None, raw_path, raw_query)
    raw_bucket, slash, raw_key = rest.partition("/")
    bucket = _decode(raw_bucket)
    if not slash or not raw_key:
        return Address(Target.BUCKET, bucket, None, raw_path, raw_query)
    return Address(Target.OBJECT, bucket, _decode(raw_key), raw_path, raw_query)


def valid_bucket_name(name: str) -> bool:
    """S3's rules for new buckets: 3-63 chars, lower-case DNS labels, not an IP address."""
    return 3 <= len(name) <= 63 and _valid_name(name)


@functools.lru_cache(maxsize=4096)
def _valid_name(name: str) -> bool:
    """Remembered per name (every request checks its bucket's name: the expressions cost
    ~2 us, the lookup a tenth of that); only names of 3-63 characters get here, so the
    cache holds at most 4096 x 63 characters whatever the requests send."""
    if not _BUCKET_NAME.fullmatch(name):
        return False
    if ".." in name or ".-" in name or "-." in name or _IP_ADDRESS.fullmatch(name):
        return False
    return not name.startswith(("xn--", "sthree-")) and not name.endswith(("-s3alias", "--ol-s3"))


_RESERVED_FOR_NEW = (("amzn-s3-demo-",), (".mrap", "--x-s3", "--table-s3"))
"""Prefixes and suffixes AWS keeps for what it makes itself (its documentation's demo
buckets; Multi-Region Access Points, directory and table buckets)."""


def creatable_bucket_name(name: str) -> bool:
    """A name a new bucket may take: S3's rules, and none of the names AWS reserves. The
    reservations bind new buckets only, so a bucket an upstream store (or an older
    gateway) already holds under such a name stays reachable."""
    return 3 <= len(name) <= 63 and _creatable(name)


@functools.lru_cache(maxsize=4096)
def _creatable(name: str) -> bool:
    """:func:`creatable_bucket_name` of a name of 3-63 characters, remembered as
    :func:`_valid_name` is (every request with a bucket checks it: one look-up)."""
    prefixes, suffixes = _RESERVED_FOR_NEW
    return _valid_name(name) and not name.startswith(prefixes) and not name.endswith(suffixes)


def check_bucket_name(name: str) -> None:
    """CreateBucket's check (:func:`creatable_bucket_name`)."""
    if not creatable_bucket_name(name):
        raise S3Error("InvalidBucketName", extra={"BucketName": name})


def check_existing_bucket_name(name: str) -> None:
    """Every other request's check, of the bucket it names or copies from
    (:func:`valid_bucket_name`): the names AWS reserves bind new buckets only."""
    if not valid_bucket_name(name):
        raise S3Error("InvalidBucketName", extra={"BucketName": name})


def check_key(key: str) -> None:
    if len(key) <= MAX_KEY_BYTES // 4:  # UTF-8 takes at most 4 bytes a character
        return
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", extra={"Size": str(size), "MaxSizeAllowed": "1024"})
