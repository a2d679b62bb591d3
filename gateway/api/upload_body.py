"""What a REST upload (``PUT /v1/buckets/{name}/objects/content``) takes from its
request: the headers it reads and the ones it refuses (:func:`refuse_unread_headers`),
the integrity headers S3 checks a PutObject's body by (:func:`integrity`), and the body
as the backend's ``PayloadStream`` (:class:`RequestBody`), refused past its limit or when
it does not match. Messages name the header, never the value sent (docs/api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import StreamReader, web

from gateway.api.errors import ApiError
from gateway.api.validation import invalid
from sigv4 import (
    ALGORITHMS,
    CHECKSUM_HEADER_NAMES,
    CHECKSUM_HEADERS,
    PayloadPipeline,
    SigV4Error,
    XAmzContentSHA256Mismatch,
    header_map,
    parse_content_md5,
    payload_mode,
)

__all__ = [
    "READ_AMZ_HEADERS",
    "UNREAD_HEADERS",
    "Integrity",
    "RequestBody",
    "bad_digest",
    "integrity",
    "refuse_unread_headers",
    "too_large",
]

_CHUNK = 1024 * 1024


class RequestBody:
    """The request body as the backend's ``PayloadStream``: chunks as they arrive, refused
    (413) past ``limit`` bytes and (400) when shorter than its ``Content-Length``, checked
    by ``integrity`` (the body's ``x-amz-checksum-*`` / ``x-amz-content-sha256``) at its
    end."""

    def __init__(
        self, content: StreamReader, limit: int, declared: int | None, integrity: Integrity
    ) -> None:
        self._content = content
        self._limit = limit
        self._declared = declared
        self._integrity = integrity

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._integrity.pipeline.checksums

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        pipeline = self._integrity.pipeline
        async for chunk in self._content.iter_chunked(_CHUNK):
            received += len(chunk)
            if received > self._limit:
                raise too_large(self._limit)
            yield pipeline.feed(chunk)
        if self._declared is not None and received != self._declared:
            raise ApiError(400, "InvalidRequest", "The body is shorter than its Content-Length")
        try:
            pipeline.finish()
        except XAmzContentSHA256Mismatch:
            raise bad_digest(_CONTENT_SHA256, "the SHA-256 differs") from None
        except SigV4Error:
            field = self._integrity.checksum or _CONTENT_SHA256
            raise bad_digest(field, "the checksum differs") from None


_SDK_ALGORITHM = "x-amz-sdk-checksum-algorithm"
_CONTENT_SHA256 = "x-amz-content-sha256"
READ_AMZ_HEADERS = frozenset(
    {_CONTENT_SHA256, _SDK_ALGORITHM, *CHECKSUM_HEADER_NAMES, "x-amz-cf-id"}
)
"""The ``x-amz-*`` headers an upload reads (its integrity headers), and ``X-Amz-Cf-Id``,
which CloudFront adds to every request it forwards and S3 ignores. Every other one is
refused: S3's PutObject would act on it (SSE-C, Object Lock, metadata, tags, ACLs,
storage class, ...), or may, as AWS adds them."""
UNREAD_HEADERS = {
    "content-disposition": "Content-Disposition",
    "content-language": "Content-Language",
    "expires": "Expires",
    "content-range": "Content-Range",
}
"""Standard headers S3's PutObject stores with the object (``Content-Range``: a partial
PUT, RFC 9110 14.4 asks for a 400) and an upload does not: refused, by their usual
spelling. ``Content-Encoding`` is 415 (:func:`check_identity_encoding`). Not
``Cache-Control``: in a request it is a caching directive for that request (RFC 9111
5.2.1), which browsers (a developer tools' "disable cache") and proxies add on their own,
not metadata of the body; the upload stores no ``Cache-Control`` either way."""


def refuse_unread_headers(request: web.Request) -> None:
    """400 ``ValidationError`` naming in ``details.field`` (sorted, comma-separated;
    ``x-amz-*`` in lower case) every header of the request S3's PutObject would act on
    and this upload does not read. One pass over the request's header names."""
    refused: set[str] = set()
    for name in request.headers:
        lower = name.lower()
        if lower.startswith("x-amz-"):
            if lower not in READ_AMZ_HEADERS:
                refused.add(lower)
        elif lower in UNREAD_HEADERS:
            refused.add(UNREAD_HEADERS[lower])
    if refused:
        raise invalid(
            ",".join(sorted(refused)),
            "An upload stores the body, its Content-Type and its checksum; the headers in "
            "details.field ask for more (encryption, Object Lock, metadata, tags, ACLs, "
            "...) and are refused rather than ignored: use the S3 listener's PutObject",
        )


@dataclass(frozen=True, slots=True)
class Integrity:
    pipeline: PayloadPipeline
    content_md5: bytes | None
    checksum: str | None
    """The request's ``x-amz-checksum-<algorithm>`` header (its name), if any."""


def bad_digest(field: str, reason: str) -> ApiError:
    return ApiError(
        400, "BadDigest", f"The body does not match its {field}: {reason}", {"field": field}
    )


def _check_integrity_headers(values: Mapping[str, str], checksums: list[str]) -> None:
    """The REST answers for what ``PayloadPipeline.create`` refuses, each naming its
    header and never its value (the ``sigv4`` messages are S3's, which quote some: an
    unsupported ``x-amz-sdk-checksum-algorithm``). ``checksums``: the request's
    ``x-amz-checksum-<algorithm>`` names, sorted."""
    if len(checksums) > 1:
        raise invalid(",".join(checksums), "Send at most one x-amz-checksum-<algorithm> header")
    sdk = values.get(_SDK_ALGORITHM)
    if sdk is not None:
        sent = CHECKSUM_HEADERS[checksums[0]] if checksums else None
        if sdk.strip().upper() != sent:
            raise invalid(
                _SDK_ALGORITHM,
                f"{_SDK_ALGORITHM} names the algorithm of the x-amz-checksum-<algorithm> "
                f"header sent with it, one of {', '.join(ALGORITHMS)}",
            )


def integrity(request: web.Request) -> Integrity:
    """The checks S3 makes of a PutObject body, from the same headers: ``Content-MD5``,
    one ``x-amz-checksum-<algorithm>`` (stored with the object, as S3 stores it) and
    ``x-amz-content-sha256`` (a hex digest, or ``UNSIGNED-PAYLOAD``: aws-chunked bodies
    are S3's). A malformed or contradictory header is 400 ``ValidationError`` naming it,
    in words of the API's own (no submitted value); a body that does not match is 400
    ``BadDigest`` and stores nothing."""
    values = header_map(tuple(request.headers.items()))
    checksums = sorted(CHECKSUM_HEADER_NAMES.intersection(values))
    _check_integrity_headers(values, checksums)
    try:
        pipeline = PayloadPipeline.create(values, None, allow_streaming=False)
    except SigV4Error:
        field = _malformed(values.get(_CONTENT_SHA256), checksums)
        raise invalid(field, _MALFORMED[field]) from None
    md5_text = values.get("content-md5")
    try:
        content_md5 = None if md5_text is None else parse_content_md5(md5_text)
    except SigV4Error:
        raise invalid("Content-MD5", "Content-MD5 is the base64 MD5 of the body") from None
    return Integrity(pipeline, content_md5, checksums[0] if checksums else None)


def _malformed(content_sha256: str | None, checksums: list[str]) -> str:
    """The header ``PayloadPipeline.create`` refused, once :func:`refuse_unread_headers`
    and :func:`_check_integrity_headers` passed: ``x-amz-content-sha256`` (malformed, or
    aws-chunked), else the one checksum header's value."""
    try:
        streaming = payload_mode(content_sha256).is_streaming
    except SigV4Error:
        streaming = True
    return checksums[0] if checksums and not streaming else _CONTENT_SHA256


_MALFORMED = {
    _CONTENT_SHA256: f"{_CONTENT_SHA256} is the hex SHA-256 of the body or UNSIGNED-PAYLOAD "
    "(aws-chunked bodies are the S3 listener's)",
    **{
        name: f"{name} is the base64 {algorithm} of the body"
        for name, algorithm in CHECKSUM_HEADERS.items()
    },
}
"""What a malformed integrity header must hold (no submitted value quoted)."""


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "PayloadTooLarge", f"Objects uploaded here are at most {limit} bytes", {"limit": limit}
    )
