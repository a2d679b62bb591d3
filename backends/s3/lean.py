"""The lean upstream client: the hot operations on our own HTTP/1.1 pool, signed by ``sigv4``.

aiobotocore spends most of a proxied request's CPU on request building, parameter
validation, event hooks, signing and response parsing. For the operations on the data
path (HeadObject, GetObject, PutObject, UploadPart, ListObjectsV2), and HeadBucket (every
proxied HEAD or GET of a missing key asks it which one is missing), this client builds the
request from a small table, signs it with ``sigv4.outgoing`` (the same math the gateway
verifies), sends it over one keep-alive connection pool (``http1``: asyncio protocol
connections, answers parsed by llhttp), and hands back the few response
fields the backend reads - in botocore's names, so the rest of the backend does not care
which client answered. Bodies stream both ways. Every other operation stays on
aiobotocore (``client.UpstreamClient._call`` chooses).

Errors become ``BackendError`` through the same table as aiobotocore's (``errors``).
"""

from __future__ import annotations

import http.client
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from backends.errors import BackendError
from backends.s3.config import UpstreamConfig
from backends.s3.http1 import Pool, PoolTimeout, Response
from backends.s3.proxy_pages import ETAGGED, failed_page, no_etag, refused
from backends.s3.redirects import hands_over
from backends.s3.signer import LeanSigner
from backends.s3.upstream_errors import from_answer, unavailable
from backends.s3.wire import (
    bucket_fields,
    error_fields,
    http_date,
    list_v2_result,
    object_fields,
)
from sigv4 import ALGORITHMS, header_name
from sigv4.outgoing import UNSIGNED_PAYLOAD, encode_path, encode_query
from sigv4.signing import EMPTY_SHA256

__all__ = [
    "KNOWN_PARAMS",
    "LEAN_OPERATIONS",
    "LIST_BODY_MAX",
    "LeanClient",
    "Redirected",
    "usable",
]

_ERROR_BODY_MAX = 64 * 1024
LIST_BODY_MAX = 16 * 1024 * 1024
"""A ListObjectsV2 page is parsed whole: 1,000 keys of at most 1,024 bytes each, URL-encoded
(up to three times longer), with their other fields, are under 4 MiB. A store that sends
more is refused, not buffered without end."""

_LISTING_END = re.compile(rb"</(?:[\w.-]+:)?ListBucketResult>\s*\Z")
"""How a whole ListObjectsV2 page ends. A 200 answer that does not end so (cut short with a
matching Content-Length, or some proxy's HTML page) is no listing: read as one, it would
show a bucket with keys missing, or an empty bucket."""
_LISTING_TAIL = 256

# botocore parameter -> request header, for the parameters the hot operations take.
_HEADER_PARAMS = {
    "IfMatch": "if-match",
    "IfNoneMatch": "if-none-match",
    "IfModifiedSince": "if-modified-since",
    "IfUnmodifiedSince": "if-unmodified-since",
    "Range": "range",
    "ContentMD5": "content-md5",
    "ContentType": "content-type",
    "ContentEncoding": "content-encoding",
    "ContentDisposition": "content-disposition",
    "ContentLanguage": "content-language",
    "CacheControl": "cache-control",
    "StorageClass": "x-amz-storage-class",
    # server-side encryption (backends/s3/sse.py): signed like every x-amz-* header
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSECustomerAlgorithm": "x-amz-server-side-encryption-customer-algorithm",
    "SSECustomerKey": "x-amz-server-side-encryption-customer-key",
    "SSECustomerKeyMD5": "x-amz-server-side-encryption-customer-key-md5",
    # checksums (native_checksums): values sent, and asked for on reads
    **{f"Checksum{alg}": header_name(alg) for alg in ALGORITHMS},
    "ChecksumMode": "x-amz-checksum-mode",
    # object tagging (backends/s3/tagging.py): the URL-encoded tag set
    "Tagging": "x-amz-tagging",
}
# botocore parameter -> query parameter.
_QUERY_PARAMS = {
    "VersionId": "versionId",
    "PartNumber": "partNumber",
    "UploadId": "uploadId",
    "MaxKeys": "max-keys",
    "Prefix": "prefix",
    "Delimiter": "delimiter",
    "StartAfter": "start-after",
    "ContinuationToken": "continuation-token",
}


_OTHER_PARAMS = frozenset({"Bucket", "Key", "Metadata", "Body", "ContentLength"})
KNOWN_PARAMS = frozenset(_HEADER_PARAMS) | frozenset(_QUERY_PARAMS) | _OTHER_PARAMS
"""Every parameter the lean client sends. A call with any other one goes through
aiobotocore (``client._call``): a parameter this client does not know would otherwise be
dropped silently (an Object Lock retention, a checksum algorithm...)."""


@dataclass(frozen=True, slots=True)
class _Operation:
    name: str
    """S3's name of the operation (the log lines' and ``proxy_pages``' name)."""
    method: str
    object_level: bool
    fixed_query: tuple[tuple[str, str], ...] = ()
    has_body: bool = False
    as_botocore: bool = False
    """Error answers exactly as aiobotocore's: a bodiless one named by its status as
    botocore names it (``Code`` "404", ``Message`` "Not Found"), and a redirect that
    botocore's region redirector would follow (``redirects.hands_over``) left to
    aiobotocore (``Redirected``).
    HeadBucket's answers were aiobotocore's until it moved here; HeadObject's bodiless
    errors keep the lean client's own (empty) naming."""


LEAN_OPERATIONS: dict[str, _Operation] = {
    "head_object": _Operation("HeadObject", "HEAD", object_level=True),
    "get_object": _Operation("GetObject", "GET", object_level=True),
    "put_object": _Operation("PutObject", "PUT", object_level=True, has_body=True),
    "upload_part": _Operation("UploadPart", "PUT", object_level=True, has_body=True),
    "head_bucket": _Operation("HeadBucket", "HEAD", object_level=False, as_botocore=True),
    "list_objects_v2": _Operation(
        "ListObjectsV2",
        "GET",
        object_level=False,
        fixed_query=(("list-type", "2"), ("encoding-type", "url")),
    ),
}
"""The operations this client serves; ``_call`` sends every other one through
aiobotocore."""
_ETAGGED = frozenset(key for key, op in LEAN_OPERATIONS.items() if op.name in ETAGGED)
"""The operations whose 2xx answer must carry the object's ``ETag`` (all but the listing)."""


def usable(config: UpstreamConfig) -> bool:
    """Whether the lean client can stand in for aiobotocore on the hot operations.

    ``when_supported`` checksums (a CRC computed and validated by botocore) and ``auto``
    addressing (botocore's per-bucket rules) are left to aiobotocore entirely.
    """
    return (
        config.fast_path
        and config.request_checksum_calculation == "when_required"
        and config.response_checksum_validation == "when_required"
        and config.addressing_style in ("path", "virtual")
    )


class LeanClient:
    """One connection pool (``http1.Pool``) signing with the backend's credentials."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        endpoint = config.endpoint_url or _aws_endpoint(config.region)
        parts = urlsplit(endpoint)
        self._scheme = parts.scheme or "https"
        self._netloc = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self._pool: Pool | None = None
        self._signer = LeanSigner(config.access_key_id, config.secret_access_key, config.region)

    async def start(self) -> None:
        cfg = self.config
        # Bodies pass through as stored (an object with Content-Encoding: gzip is not
        # decompressed on its way to the client); https verifies the store's certificate
        # against the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR apply).
        self._pool = Pool(
            limit=cfg.max_pool_connections,
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            ssl_context=ssl.create_default_context() if self._scheme == "https" else None,
        )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _target(self, bucket: str, key: str | None) -> tuple[str, str]:
        """(Host header, raw path) of a bucket or object."""
        segments = [] if key is None else [key]
        if self.config.addressing_style == "virtual":
            return f"{bucket}.{self._netloc}", self._base_path + encode_path(*segments)
        return self._netloc, self._base_path + encode_path(bucket, *segments)

    async def call(
        self,
        operation: str,
        *,
        not_found: str,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """``operation`` with botocore's parameters; botocore's response fields back."""
        response = await self.answer(operation, not_found=not_found, headers=headers, **params)
        if operation == "get_object":
            fields = object_fields(response.status, response.headers)
            fields["Body"] = response  # read(amount) and close(), as DownloadBody reads it
            return fields
        try:
            if operation == "list_objects_v2":
                page = await response.read_all(LIST_BODY_MAX + 1)
                if len(page) > LIST_BODY_MAX:
                    raise unavailable(
                        "ServiceUnavailable",
                        f"the upstream store's listing page is over {LIST_BODY_MAX} bytes",
                    )
                if _LISTING_END.search(page, max(0, len(page) - _LISTING_TAIL)) is None:
                    raise refused("ListObjectsV2", response.status, "a page that is not whole")
                return list_v2_result(page)
            if operation == "head_bucket":
                return bucket_fields(response.status, response.headers)
            return object_fields(response.status, response.headers)
        finally:
            response.close()

    async def answer(
        self,
        operation: str,
        *,
        not_found: str,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Response:
        """``operation`` with botocore's parameters; the answer once its head is in, its
        body (if any) still to be read and the answer closed by the caller. An error
        answer is read, closed and raised as a ``BackendError``; so is a 2xx object
        answer without the object's ``ETag`` (a proxy's page, not the store's)."""
        pool = self._pool
        if pool is None:
            raise BackendError("ServiceUnavailable", "the upstream backend is not started")
        op = LEAN_OPERATIONS[operation]
        host, path = self._target(params["Bucket"], params["Key"] if op.object_level else None)
        send: dict[str, str] = {"host": host}
        query: list[tuple[str, str]] = list(op.fixed_query)
        for name, value in params.items():
            if name in _OTHER_PARAMS:  # Bucket and Key: every call has them
                continue
            header = _HEADER_PARAMS.get(name)
            if header is not None:
                send[header] = http_date(value) if isinstance(value, datetime) else str(value)
                continue
            query_name = _QUERY_PARAMS.get(name)
            if query_name is not None:
                query.append((query_name, str(value)))
        metadata = params.get("Metadata")
        if metadata:
            for meta_key, meta_value in metadata.items():
                send[f"x-amz-meta-{meta_key}"] = meta_value
        if headers:
            send.update({name.lower(): value for name, value in headers.items()})
        body = params.get("Body")
        signed = send  # read by the signer before the signature headers join ``send``
        if op.has_body:
            signed = dict(send)  # Content-Length is left unsigned (as botocore leaves it)
            signed.pop("content-length", None)
            # ContentLength first: a spooled body above 8 MiB is a file, which has no len()
            length = params.get("ContentLength")
            send["content-length"] = str(length if length is not None else len(body or b""))
        raw_query = encode_query(query) if query else ""
        send.update(
            self._signer.headers(
                op.method,
                path,
                raw_query,
                signed,
                UNSIGNED_PAYLOAD if op.has_body else EMPTY_SHA256,
                time.time(),
            )
        )
        target = f"{path}?{raw_query}" if raw_query else path
        try:
            response = await pool.request(op.method, host, target, send, body)
        except PoolTimeout as exc:
            raise unavailable("SlowDown", f"upstream store: {exc}") from exc
        if response.status >= 300:
            if op.as_botocore:
                raise _botocore_error(response, op.name, not_found, self.config)
            raise await _error(response, op.name, not_found, self.config.bucket_prefix)
        if operation in _ETAGGED and no_etag(response.headers):
            response.close()  # unread: the connection is not reused
            raise refused(op.name, response.status, "no ETag")
        return response


async def _error(
    response: Response, operation: str, not_found: str, bucket_prefix: str
) -> BackendError:
    try:
        if response.complete and not response.buffered:
            body = b""  # a HEAD's answer (whole with its head), or an empty body
        else:
            body = await response.read_all(_ERROR_BODY_MAX)
    finally:
        response.close()
    if response.status >= 500:
        failed_page(operation, response.status, body, response.headers)
    code, message, fields = error_fields(body)
    return from_answer(
        response.status,
        code,
        message,
        fields,
        not_found=not_found,
        headers=response.headers,
        bucket_prefix=bucket_prefix,
        operation=operation,
    )


class Redirected(Exception):
    """A redirect botocore's region redirector follows (``_Operation.as_botocore``):
    the caller asks aiobotocore instead."""


def _botocore_error(
    response: Response, operation: str, not_found: str, config: UpstreamConfig
) -> BackendError | Redirected:
    """A bodiless (HEAD) error answer as aiobotocore gives it: ``Redirected`` where
    botocore's redirector would send it again for another region (a 301, 302, 307 or
    400 naming another valid region in ``x-amz-bucket-region``: ``redirects``), else the
    ``BackendError`` of botocore's naming (the status as ``Code``, its reason phrase as
    ``Message``; a redirect not followed is ``ServiceUnavailable``)."""
    response.close()  # a HEAD's answer is whole with its head
    status, headers = response.status, response.headers
    if hands_over(status, headers, config.region):
        return Redirected()
    if status >= 500:
        failed_page(operation, status, b"", headers)
    code = str(status)
    message = http.client.responses.get(status, "")
    return from_answer(
        status,
        code,
        message,
        {"Code": code, "Message": message},
        not_found=not_found,
        headers=headers,
        bucket_prefix=config.bucket_prefix,
        operation=operation,
    )


def _aws_endpoint(region: str) -> str:
    return (
        "https://s3.amazonaws.com"
        if region == "us-east-1"
        else f"https://s3.{region}.amazonaws.com"
    )
