"""Server-side encryption on the S3 listener: the request headers, read once into an
``Encryption`` of the request object, and the headers responses echo.

Which operation reads which headers (as S3 does):

| operation | ``x-amz-server-side-encryption`` | SSE-C key | copy source's SSE-C key |
| --- | --- | --- | --- |
| PutObject, CreateMultipartUpload | yes | yes | |
| CopyObject | yes (the copy's) | yes (the copy's) | yes |
| UploadPartCopy | refused | the upload's | yes |
| GetObject, HeadObject, GetObjectAttributes | refused | the object's | |
| UploadPart, CompleteMultipartUpload, ListParts | refused | the upload's | |

``AES256`` is SSE-S3; ``aws:kms`` and ``aws:kms:dsse`` answer ``NotImplemented`` (there is
no key store), anything else ``InvalidArgument``. An SSE-C key must come with
``-algorithm: AES256`` and its ``-key-MD5``, which is checked here (the backends get the
32 raw bytes). A request carrying an SSE-C key over plain HTTP is refused, as S3 refuses it
(the key is a secret in clear on the wire), unless it comes straight from a loopback
address: local tests and a TLS-terminating proxy on the same host that is *not* declared
with ``server.trusted_forwarded_headers`` (a trusted proxy's ``X-Forwarded-Proto`` says
what the client used, and ``http`` there is refused). See docs/security.md.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping

from backends.types import CustomerKey, Encryption, ObjectMeta, Part
from gateway.s3.errors import S3Error

__all__ = [
    "SSE_HEADER",
    "parse_encryption",
    "part_encryption_headers",
    "plain_http_allowed",
    "sse_response_headers",
]

SSE_HEADER = "x-amz-server-side-encryption"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
_KMS_HEADERS = (
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
)
_KMS = frozenset({"aws:kms", "aws:kms:dsse"})
_READ = frozenset(
    {SSE_HEADER, *_KMS_HEADERS}
    | {
        prefix + name
        for prefix in (CUSTOMER, COPY_SOURCE_CUSTOMER)
        for name in ("algorithm", "key", "key-md5")
    }
)
"""Every header ``parse_encryption`` reads: a request with none of them (most) has no SSE
facts, found by one set operation."""

_WRITES = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject"})
"""Operations that choose how the object they write is encrypted."""
_KEYED = frozenset(
    {
        "PutObject",
        "CreateMultipartUpload",
        "CopyObject",
        "GetObject",
        "HeadObject",
        "GetObjectAttributes",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "ListParts",
    }
)
"""Operations that take an SSE-C key (to encrypt with, or to open with)."""
_COPIES = frozenset({"CopyObject", "UploadPartCopy"})

NEEDS_TLS = (
    "Requests specifying Server Side Encryption with Customer provided keys must be made "
    "over a secure connection."
)


@functools.lru_cache(maxsize=1024)
def plain_http_allowed(remote: str | None, *, behind_proxy: bool) -> bool:
    """Whether SSE-C may travel over plain HTTP: only from a loopback peer, and never
    when the peer is a trusted proxy (``server.trusted_forwarded_headers``): a client's
    plain HTTP request it relays is still plain HTTP."""
    if behind_proxy or not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _customer_key(headers: Mapping[str, str], prefix: str) -> CustomerKey | None:
    algorithm = headers.get(prefix + "algorithm")
    key_text = headers.get(prefix + "key")
    md5_text = headers.get(prefix + "key-md5")
    if algorithm is None and key_text is None and md5_text is None:
        return None
    if algorithm is None:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            extra={"ArgumentName": prefix + "algorithm"},
        )
    if algorithm != "AES256":
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            "The encryption request you specified is not valid. The valid value is AES256.",
            extra={"ArgumentName": prefix + "algorithm", "ArgumentValue": algorithm},
        )
    if not key_text:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            extra={"ArgumentName": prefix + "key"},
        )
    try:
        key = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise S3Error(
            "InvalidArgument",
            "The secret key was invalid for the specified algorithm.",
            extra={"ArgumentName": prefix + "key"},
        )
    if not md5_text:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
            extra={"ArgumentName": prefix + "key-MD5"},
        )
    actual = base64.b64encode(hashlib.md5(key, usedforsecurity=False).digest()).decode("ascii")
    if not hmac.compare_digest(actual.encode(), md5_text.encode("utf-8", "replace")):
        raise S3Error(
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            extra={"ArgumentName": prefix + "key-MD5"},
        )
    return CustomerKey(key=key, key_md5=actual, algorithm=algorithm)


def _algorithm(headers: Mapping[str, str], operation: str) -> str | None:
    algorithm = headers.get(SSE_HEADER)
    kms_headers = [name for name in _KMS_HEADERS if name in headers]
    if algorithm is None:
        if kms_headers:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
                extra={"ArgumentName": kms_headers[0]},
            )
        return None
    if operation not in _WRITES:
        raise S3Error(
            "InvalidArgument",
            "x-amz-server-side-encryption header is not supported for this operation.",
            extra={"ArgumentName": SSE_HEADER, "ArgumentValue": algorithm},
        )
    if algorithm in _KMS:
        raise S3Error("NotImplemented", "SSE-KMS is not supported: the gateway has no key store")
    if algorithm != "AES256":
        raise S3Error(
            "InvalidArgument",
            "The encryption method specified is not supported",
            extra={"ArgumentName": SSE_HEADER, "ArgumentValue": algorithm},
        )
    if kms_headers:
        raise S3Error(
            "InvalidArgument",
            "Server Side Encryption with AWS KMS managed key requires HTTP header "
            "x-amz-server-side-encryption : aws:kms",
            extra={"ArgumentName": kms_headers[0]},
        )
    return algorithm


def parse_encryption(
    headers: Mapping[str, str], operation: str, *, plain_http_ok: Callable[[], bool]
) -> Encryption | None:
    """The SSE facts of a request (None when it carries none), validated.

    ``plain_http_ok``: whether the request came over TLS, or may use SSE-C without it
    (``plain_http_allowed``); asked only when the request carries a customer key."""
    if operation not in _KEYED or _READ.isdisjoint(headers):
        return None
    algorithm = _algorithm(headers, operation)
    customer = _customer_key(headers, CUSTOMER)
    source = _customer_key(headers, COPY_SOURCE_CUSTOMER) if operation in _COPIES else None
    if algorithm is not None and customer is not None:
        raise S3Error(
            "InvalidArgument",
            "Server Side Encryption with Customer provided key is incompatible with the "
            "encryption method specified",
            extra={"ArgumentName": SSE_HEADER, "ArgumentValue": algorithm},
        )
    if (customer is not None or source is not None) and not plain_http_ok():
        raise S3Error("InvalidRequest", NEEDS_TLS)
    if algorithm is None and customer is None and source is None:
        return None
    return Encryption(algorithm=algorithm, customer=customer, copy_source_customer=source)


def sse_response_headers(meta: ObjectMeta) -> dict[str, str]:
    """What a response says about an object's encryption (never the key, never the
    stored HMAC): ``x-amz-server-side-encryption`` for SSE-S3, the algorithm and the
    key's MD5 for SSE-C."""
    headers: dict[str, str] = {}
    if meta.server_side_encryption is not None:
        headers[SSE_HEADER] = meta.server_side_encryption
    if meta.sse_customer_algorithm is not None:
        headers[CUSTOMER + "algorithm"] = meta.sse_customer_algorithm
        if meta.sse_customer_key_md5 is not None:
            headers[CUSTOMER + "key-MD5"] = meta.sse_customer_key_md5
    return headers


def part_encryption_headers(part: Part, encryption: Encryption | None) -> dict[str, str]:
    """What UploadPart / UploadPartCopy say of the part's encryption: SSE-S3 as the
    backend stored it, SSE-C as the request's key (its result carries no metadata)."""
    headers: dict[str, str] = {}
    if part.server_side_encryption is not None:
        headers[SSE_HEADER] = part.server_side_encryption
    if encryption is not None and encryption.customer is not None:
        headers[CUSTOMER + "algorithm"] = encryption.customer.algorithm
        headers[CUSTOMER + "key-MD5"] = encryption.customer.key_md5
    return headers
