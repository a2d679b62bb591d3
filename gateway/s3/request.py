"""The S3 request object: every fact of a request parsed once, right after routing.

Authorization, handlers and backends read these parsed values; nothing re-parses a
header or query parameter. Order of work in :func:`read_request`: address (raw path or
Host), query (percent-decoding only, as signed), the one header map, the operation from
the table, then the facts the operation uses (copy source, version id, part number,
byte range, preconditions, Content-MD5, Object Lock settings, the governance bypass) and
the base URL the client sees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web

from backends.types import (
    ByteRange,
    Conditions,
    CopySource,
    Encryption,
    ObjectLock,
    Tags,
    WriteCondition,
)
from gateway.config import Config
from gateway.peer import client_scheme, forwarded_host
from gateway.s3.addressing import Address, check_existing_bucket_name, check_key, parse_address
from gateway.s3.errors import S3Error
from gateway.s3.flags import ECHO_LIMIT
from gateway.s3.headers import conditions, parse_range
from gateway.s3.lock_conditions import LockBody
from gateway.s3.lock_headers import parse_bypass, parse_object_lock
from gateway.s3.numbers import decimal
from gateway.s3.operations import Operation, allowed_methods, resolve, unknown_subresource
from gateway.s3.refused_headers import refuse_unevaluated
from gateway.s3.sse import parse_encryption, plain_http_allowed
from gateway.s3.tags import parse_tagging_header
from sigv4 import decode_query, header_map, parse_content_md5
from sigv4.records import record
from sigv4.request import bad_escape

__all__ = [
    "MAX_PART_NUMBER",
    "S3Request",
    "parse_delete_condition",
    "read_request",
]

MAX_PART_NUMBER = 10000
COPY_SOURCE = "x-amz-copy-source"
_COPY_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]+)")
_RANGED_READS = frozenset({"GetObject", "HeadObject"})
_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""aiohttp decodes header bytes as UTF-8 with ``surrogateescape``: these stand for bytes
that were not valid UTF-8."""
_LOCKED_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
"""The writes that create an object version: they take Object Lock and tagging headers."""
_CONDITIONAL_WRITES = frozenset({"PutObject", "CopyObject", "CompleteMultipartUpload"})
_BYPASSING = frozenset({"DeleteObject", "DeleteObjects", "PutObjectRetention"})
"""The operations ``x-amz-bypass-governance-retention`` acts on; any other ignores it, as
S3 does (its value is read, and a value that is no boolean refused, only here)."""

_VERSIONED = frozenset(
    {
        "GetObject",
        "HeadObject",
        "DeleteObject",
        "GetObjectAttributes",
        "GetObjectAcl",
        "PutObjectAcl",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "GetObjectRetention",
        "PutObjectRetention",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
    }
)
"""The implemented operations that act on a version a ``versionId`` names. Any other
implemented operation given one is 400 ``InvalidArgument`` "This operation does not
accept a version-id." naming the value as sent (empty and ``null`` alike), as AWS
answers (UploadPart, PutObject, bucket requests): ignoring it would answer success for
another resource than the one named. AWS's GET ``?acl`` of a bucket calls it an invalid
id instead."""
_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"


@record
class S3Request:
    method: str
    address: Address
    operation: Operation
    query: Mapping[str, str]
    """Percent-decoded names and values; a name given twice is refused
    (``sigv4.decode_query``)."""
    headers: Mapping[str, str]
    """Lower-case names to their first value, as the client signed them."""
    header_pairs: tuple[tuple[str, str], ...]
    """Every header in order, as the client signed them (SigV4 verification), a name
    repeated as often as it was sent; after authentication, a presigned URL's hoisted
    ``x-amz-meta-*`` parameters too (``gateway.s3.hoisted``)."""
    base_url: str
    """``scheme://host`` as the client addressed the gateway (forwarded-aware)."""
    copy_source: CopySource | None
    version_id: str | None
    part_number: int | None
    byte_range: ByteRange | None
    """Only for GetObject / HeadObject (a Range header elsewhere means nothing)."""
    conditions: Conditions | None
    """``If-*`` preconditions of the request itself (the copy source has its own)."""
    content_md5: bytes | None
    """The raw 16-byte digest of a ``Content-MD5`` header."""
    encryption: Encryption | None = None
    """Server-side encryption headers, validated (``gateway.s3.sse``); None: none sent."""
    object_lock: ObjectLock | None = None
    """``x-amz-object-lock-*`` of PutObject / CopyObject / CreateMultipartUpload; the
    retention or legal hold of PutObjectRetention / PutObjectLegalHold (``lock_body``)."""
    lock_body: LockBody | None = None
    """PutObjectRetention's / PutObjectLegalHold's body, parsed once by the dispatcher
    before the decision (``gateway/s3/lock_conditions.py``); its handler applies it."""
    bypass_governance: bool = False
    """``x-amz-bypass-governance-retention: true`` was sent (whether it may take effect
    is the authorization's decision: ``Context.bypass_governance``)."""
    write_condition: WriteCondition | None = None
    """``If-None-Match: *`` / ``If-Match: <etag>`` of PutObject, CopyObject (its
    destination) and CompleteMultipartUpload."""
    delete_if_match: str | None = None
    """DeleteObject's ``If-Match``: the ETag (unquoted) or ``*``; None: not sent."""
    tags: Tags | None = None
    """``x-amz-tagging`` of PutObject / CopyObject / CreateMultipartUpload, validated
    (``gateway.s3.tags``); None: not sent."""
    if_range: str | None = None
    """``If-Range`` of a GetObject / HeadObject with a ``byte_range`` (an entity tag or an
    HTTP date, as sent): the range is served only while it names the object's current
    ETag or Last-Modified (``gateway.s3.objects``); None without a range."""
    replace_metadata: bool = False
    """CopyObject's ``x-amz-metadata-directive: REPLACE`` (``_directive``)."""
    replace_tags: bool = False
    """CopyObject's ``x-amz-tagging-directive: REPLACE`` (``_directive``)."""
    form_signature: str | None = None
    """PostObject: what signed the form, as ``s3:signatureversion`` names it
    (``AWS4-HMAC-SHA256``, ``AWS`` for Signature Version 2; None: an unsigned form or
    not a form). The form's fields are the request's signature; its headers say nothing."""


def _part_number(raw: str) -> int:
    number = decimal(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            extra={"ArgumentName": "partNumber", "ArgumentValue": raw},
        )
    return number


def parse_write_condition(headers: Mapping[str, str]) -> WriteCondition | None:
    """A conditional write's ``If-None-Match`` / ``If-Match``, as S3 takes them: only
    ``If-None-Match: *``, only an ETag in ``If-Match``, never both (anything else is
    ``NotImplemented``, naming the header). The date conditions mean nothing on a write
    and are ignored, as S3 ignores them."""
    match, none_match = headers.get("if-match"), headers.get("if-none-match")
    if match is None and none_match is None:
        return None
    if match is not None and none_match is not None:
        raise S3Error(
            "NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "If-Match,If-None-Match"}
        )
    if none_match is not None:
        if none_match.strip() != "*":
            raise S3Error("NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "If-None-Match"})
        return WriteCondition(if_none_match=True)
    assert match is not None
    etag = match.strip().strip('"')
    if not etag or etag == "*":
        raise S3Error("NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "If-Match"})
    return WriteCondition(if_match=etag)


def parse_delete_condition(headers: Mapping[str, str], version_id: str | None) -> str | None:
    """DeleteObject's ``If-Match`` (an ETag, quoted or not, or ``*``). ``If-None-Match``
    and ``If-Match`` with a ``versionId`` (S3 evaluates conditional deletes against the
    current version only) are ``NotImplemented``, naming the header: refused, never
    ignored (which would delete). The conditions S3 evaluates only in directory buckets
    are refused by ``gateway.s3.refused_headers``."""
    if "if-none-match" in headers:
        raise S3Error("NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "If-None-Match"})
    match = headers.get("if-match")
    if match is None:
        return None
    etag = match.strip().strip('"')
    if not etag:
        raise S3Error("NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "If-Match"})
    if version_id is not None:
        raise S3Error(
            "NotImplemented",
            "A conditional delete of a version is not implemented: S3 evaluates conditional "
            "deletes against the current version only",
            extra={"Header": "If-Match,versionId"},
        )
    return etag


def _check_transfer_encoding(headers: Mapping[str, str], query: Mapping[str, str]) -> None:
    """A chunked body is S3's only for the aws-chunked streaming uploads, which declare it
    in ``x-amz-content-sha256`` (``STREAMING-*``: the SDKs' uploads of unknown length and
    their trailing checksums, ``docs/security.md``). Any other ``Transfer-Encoding``
    (plain ``chunked`` with a hex SHA-256, ``UNSIGNED-PAYLOAD``, a presigned URL, a
    Bearer request) is ``501 NotImplemented`` naming the header, as S3 answers, before
    anything is read."""
    declared = headers.get("x-amz-content-sha256") or query.get("X-Amz-Content-Sha256") or ""
    if not declared.strip().startswith("STREAMING-"):
        raise S3Error("NotImplemented", _NOT_IMPLEMENTED, extra={"Header": "Transfer-Encoding"})


def _version_id(query: Mapping[str, str], operation: Operation) -> str | None:
    value = query.get("versionId")
    if value is not None and operation.implemented and operation.name not in _VERSIONED:
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified"
            if operation.name == "GetBucketAcl"
            else "This operation does not accept a version-id.",
            extra={"ArgumentName": "versionId", "ArgumentValue": value},
        )
    if value is not None and not value:
        raise S3Error(
            "InvalidArgument",
            "Version id cannot be the empty string",
            extra={"ArgumentName": "versionId", "ArgumentValue": value},
        )
    return value


def _decode_copy_source(text: str) -> str:
    """A part of ``x-amz-copy-source`` percent-decoded strictly: a ``%`` not followed by
    two hex digits, or escapes that are not UTF-8, are ``InvalidArgument`` "Invalid copy
    source encoding", S3's answer (paws-r/paws #819: ``rm/%01file%/output.txt`` sent
    unencoded). Decoded leniently, ``a%`` and ``a%25`` named the same source and ``k%ff``
    the key ``k\ufffd``."""
    try:
        if not bad_escape(text):
            return unquote(text, errors="strict")
    except UnicodeDecodeError:
        pass
    raise S3Error(
        "InvalidArgument",
        "Invalid copy source encoding",
        extra={"ArgumentName": "x-amz-copy-source"},
    )


def _copy_source(headers: Mapping[str, str], *, ranged: bool) -> CopySource:
    """``x-amz-copy-source: /bucket/key[?versionId=v]`` (URL-encoded), its
    ``x-amz-copy-source-if-*`` preconditions and, for UploadPartCopy, its range."""
    raw = headers[COPY_SOURCE]
    path, _, query = raw.partition("?")
    version: str | None = None
    if query:
        name, _, value = query.partition("=")
        if name == "versionId" and not value:
            # AWS's answer, naming the header (CopyObject and UploadPartCopy alike)
            raise S3Error(
                "InvalidArgument",
                "Version id cannot be the empty string",
                extra={"ArgumentName": COPY_SOURCE, "ArgumentValue": ""},
            )
        if name != "versionId":
            raise S3Error("InvalidArgument", "Invalid copy source: only versionId may follow '?'")
        version = _decode_copy_source(value)
    decoded = _decode_copy_source(path).lstrip("/")
    bucket, slash, key = decoded.partition("/")
    if not slash or not key or not bucket:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key")
    check_existing_bucket_name(bucket)
    check_key(key)
    byte_range: tuple[int, int] | None = None
    raw_range = headers.get("x-amz-copy-source-range")
    if ranged and raw_range is not None:
        found = _COPY_RANGE.fullmatch(raw_range.strip())
        if found is None or decimal(found.group(1)) > decimal(found.group(2)):
            raise S3Error(
                "InvalidArgument",
                "The x-amz-copy-source-range value must be of the form bytes=first-last "
                "where first and last are the zero-based offsets of the first and last bytes "
                "to copy",
            )
        byte_range = (decimal(found.group(1)), decimal(found.group(2)))
    return CopySource(
        bucket=bucket,
        key=key,
        version_id=version,
        conditions=conditions(headers, prefix="x-amz-copy-source-") or Conditions(),
        byte_range=byte_range,
    )


def read_request(request: web.Request, config: Config) -> S3Request:
    """Parse one request; raise ``S3Error`` for anything malformed or unroutable."""
    trusted = config.server.trusted_forwarded_headers
    proxied_host = forwarded_host(request, trusted=trusted)
    host = proxied_host or request.headers.get("Host")
    address = parse_address(request.raw_path, host, config.s3.domain)
    query = decode_query(address.raw_query)
    pairs = tuple(request.headers.items())
    if not "".join(request.headers.values()).isascii():  # one test, not one a header
        for name, value in pairs:
            if not value.isascii() and _UNDECODABLE.search(value):
                # Signatures, keys, copy sources and stored metadata are all text: refuse
                # the request here rather than fail (500) wherever it is encoded again.
                raise S3Error(
                    "InvalidArgument",
                    f"The value of header {name} is not valid UTF-8",
                    extra={"ArgumentName": name},
                )
    if proxied_host is not None:
        # The client signed the Host it sent to the proxy, which is in X-Forwarded-Host.
        pairs = tuple(
            (name, proxied_host if name.lower() == "host" else value) for name, value in pairs
        )
    headers = header_map(pairs)
    if "transfer-encoding" in headers:
        _check_transfer_encoding(headers, query)
    if query:
        unknown = unknown_subresource(query)
        if unknown is not None:
            raise S3Error(
                "NotImplemented",
                f"The subresource {unknown!r} is not implemented by this gateway",
            )
    operation = resolve(request.method, address.target, query, headers)
    if operation is None:
        extra = {"Method": request.method, "ResourceType": address.target.value.upper()}
        allowed = allowed_methods(address.target, query)
        if allowed:
            extra["Allow"] = ", ".join(allowed)
        raise S3Error("MethodNotAllowed", extra=extra)
    refuse_unevaluated(operation.name, headers)
    if address.bucket is not None and operation.name != "CreateBucket":
        check_existing_bucket_name(address.bucket)
    if address.key is not None:
        check_key(address.key)

    copy_source = None
    replace_metadata = replace_tags = False
    if operation.header == COPY_SOURCE:
        copy_source = _copy_source(headers, ranged=operation.name == "UploadPartCopy")
        if operation.name == "CopyObject":
            replace_metadata = _directive(headers, "x-amz-metadata-directive", "metadata")
            replace_tags = _directive(headers, "x-amz-tagging-directive", "tagging")
    raw_part = query.get("partNumber")
    part_number = None if raw_part is None else _part_number(raw_part)
    byte_range = None
    if_range = None
    if operation.name in _RANGED_READS:
        byte_range = parse_range(headers.get("range"))
        if byte_range is not None:
            if part_number is not None:
                raise S3Error(
                    "InvalidRequest",
                    "Cannot specify both Range header and partNumber query parameter",
                )
            if_range = headers.get("if-range")
    md5_text = headers.get("content-md5")
    scheme = client_scheme(request, trusted=trusted)
    encryption = parse_encryption(
        headers,
        operation.name,
        plain_http_ok=lambda: (
            scheme == "https" or plain_http_allowed(request.remote, behind_proxy=trusted)
        ),
    )
    version_id = _version_id(query, operation) if query else None
    delete_if_match = None
    if operation.name == "DeleteObject" and (
        # the headers that make a DeleteObject conditional (each evaluated or refused;
        # the directory-bucket ones by refuse_unevaluated): two dict lookups on a DELETE
        "if-match" in headers or "if-none-match" in headers
    ):
        delete_if_match = parse_delete_condition(headers, version_id)
    return S3Request(
        method=request.method,
        address=address,
        operation=operation,
        query=query,
        headers=headers,
        header_pairs=pairs,
        base_url=f"{scheme}://{host or request.host}",
        copy_source=copy_source,
        version_id=version_id,
        part_number=part_number,
        byte_range=byte_range,
        conditions=conditions(headers),
        content_md5=None if md5_text is None else parse_content_md5(md5_text),
        encryption=encryption,
        object_lock=parse_object_lock(headers) if operation.name in _LOCKED_WRITES else None,
        bypass_governance=parse_bypass(headers) if operation.name in _BYPASSING else False,
        write_condition=(
            parse_write_condition(headers)
            if ("if-none-match" in headers or "if-match" in headers)
            and operation.name in _CONDITIONAL_WRITES
            else None
        ),
        delete_if_match=delete_if_match,
        tags=_tags(headers) if operation.name in _LOCKED_WRITES else None,
        if_range=if_range,
        replace_metadata=replace_metadata,
        replace_tags=replace_tags,
    )


_DIRECTIVES = {"COPY": False, "REPLACE": True}


def _directive(headers: Mapping[str, str], name: str, what: str) -> bool:
    """Whether CopyObject's directive header ``name`` says ``REPLACE``; ``COPY`` when it
    is absent. S3 reads exactly ``COPY`` or ``REPLACE`` (the SDKs send those) and answers
    anything else, ``copy`` or ``Replace`` too, 400 ``InvalidArgument`` "Unknown metadata
    directive." (docs/s3-compatibility.md): a value read without regard to case made the
    gateway act on a request S3 refuses."""
    sent = headers.get(name)
    if sent is None:
        return False
    replace = _DIRECTIVES.get(sent)
    if replace is None:
        raise S3Error(
            "InvalidArgument",
            f"Unknown {what} directive.",
            extra={"ArgumentName": name, "ArgumentValue": sent[:ECHO_LIMIT]},
        )
    return replace


def _tags(headers: Mapping[str, str]) -> Tags | None:
    """``x-amz-tagging`` of a write that creates a version (``_LOCKED_WRITES``)."""
    value = headers.get("x-amz-tagging")
    return None if value is None else parse_tagging_header(value)
