"""2xx answers that are not the store's: a proxy's or load balancer's page.

A proxy in front of the store (a login page, a maintenance page, nginx's error page sent
with 200) answers with HTML where the store would answer S3 XML. botocore reads a
well-formed page as an answer without any of the fields it looks for: ListBuckets,
ListObjectVersions, ListMultipartUploads and ListParts read as empty, DeleteObjects as
nothing to report, CreateMultipartUpload without an ``UploadId`` (a 500), a PutObject or
UploadPart without an ``ETag`` as stored. Such an answer is refused here, before botocore
reads it, as ``ServiceUnavailable`` (503, ``Retry-After``), with a warning line naming
the operation:

- a 2xx body that opens with a document type declaration (S3 never sends one) or an
  ``<html>`` element;
- an empty 2xx body where the answer is a document (``DOCUMENTS``);
- a 2xx PutObject, UploadPart, HeadObject or GetObject answer (a 206 too) without an
  ``ETag`` header (``ETAGGED``; the lean client checks its own answers with ``no_etag``).

A 5xx answer is the store failing whatever its body (``ServiceUnavailable`` already,
``upstream_errors``); when that body is an HTML page (nginx's 502, a load balancer's
maintenance page) ``failed_page`` logs a warning line naming the operation and the
status, never the page's text; so does a bodiless 5xx (a HEAD's) without S3's request id
(``x-amz-request-id``, moto's ``x-amzn-requestid``), naming its ``Server`` and
``Content-Type`` instead. Every line here is logged at most once a minute per operation
and status (a store that is down, or a portal in front of it, answers every request and
every retry so).

Root element names are not compared: stores name them differently (moto's ListParts
answer is ``ListPartsResponse``, AWS's ``ListPartsResult``). The lean client's listing is
checked by its closing tag (``lean``).

Cost: nothing on the data path but one header look-up per lean PutObject, UploadPart,
HeadObject and GetObject answer; per aiobotocore answer one status comparison, on 2xx
one anchored regular expression over at most the first 4 KiB of a body read whole, and
one header look-up for the ``ETAGGED`` operations; on 5xx the same expression or two
header look-ups (error answers only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from botocore.handlers import _handle_200_error

from backends.errors import BackendError
from backends.s3.log_gate import LogGate
from backends.s3.upstream_errors import unavailable

__all__ = ["DOCUMENTS", "ETAGGED", "failed_page", "is_page", "no_etag", "refused", "register"]

log = logging.getLogger(__name__)

DOCUMENTS = frozenset(
    {
        "ListBuckets",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListMultipartUploads",
        "ListParts",
        "CreateMultipartUpload",
        "DeleteObjects",
    }
)
"""Operations whose 2xx answer is an XML document (an empty body is no answer).
CompleteMultipartUpload, CopyObject and UploadPartCopy too, but botocore's own 200 check
already fails those on an empty body."""

ETAGGED = frozenset({"PutObject", "UploadPart", "HeadObject", "GetObject"})
"""Operations whose 2xx answer carries the object's ``ETag`` header: what was stored
(PutObject, UploadPart) or what is read (HeadObject, GetObject, a ranged 206 too). AWS
documents it on every such answer, MinIO sets it from the object's stored etag, SeaweedFS
and moto were seen sending it for every kind of object (empty, directory marker,
multipart, copied); a proxy's page has none."""
_REQUEST_IDS = ("x-amz-request-id", "x-amzn-requestid")
"""Headers that mark an answer as an S3 store's (AWS, MinIO, SeaweedFS; moto's)."""

_SCAN = 4096
_PAGE = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype|html[\s>/])",
    re.IGNORECASE | re.DOTALL,
)
_EVENT = "before-parse.s3.*"
FAILED_PAGE_EVERY = 60.0
"""Seconds between two log lines for one (operation, status)."""
_lines = LogGate(FAILED_PAGE_EVERY)
"""When each (operation, status) was last logged: bounded by the operations and the
statuses."""


def is_page(body: bytes) -> bool:
    """Whether ``body`` opens as an HTML page (or any document with a DTD)."""
    return _PAGE.match(body, 0, _SCAN) is not None


def no_etag(headers: Mapping[str, str]) -> bool:
    """Whether a write's answer headers lack the ``ETag`` (names in lower case)."""
    return "etag" not in headers


def refused(operation: str, status: int, why: str) -> BackendError:
    """``ServiceUnavailable`` for a 2xx answer that is not the store's, logged (at most
    once a minute per operation and status)."""
    if _lines.due((operation, status)):
        log.warning(
            "upstream %s answered %d with %s: not the store's answer, refused "
            "(logged at most once a minute)",
            operation,
            status,
            why,
        )
    return unavailable(
        "ServiceUnavailable", f"the upstream store's answer to {operation} is not S3's"
    )


def failed_page(operation: str, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    """Log a 5xx answer to ``operation`` that is a proxy's, not the store's: a ``body``
    that is an HTML page (its text is not logged), or no body (a HEAD's) and no S3
    request id among ``headers`` (names in lower case). At most once every
    ``FAILED_PAGE_EVERY`` seconds per operation and status."""
    if body:
        if not is_page(body) or not _lines.due((operation, status)):
            return
        log.warning(
            "upstream %s answered %d with an HTML page: a proxy's, not the store's; "
            "answered 503 (logged at most once a minute)",
            operation,
            status,
        )
    elif not any(name in headers for name in _REQUEST_IDS) and _lines.due((operation, status)):
        log.warning(
            "upstream %s answered %d without S3's request id (Server: %r, Content-Type: "
            "%r): a proxy's, not the store's; answered 503 (logged at most once a minute)",
            operation,
            status,
            str(headers.get("server", ""))[:80],
            str(headers.get("content-type", ""))[:80],
        )


def _check(response_dict: MutableMapping[str, Any], operation_model: Any, **_: Any) -> None:
    status = response_dict.get("status_code", 0)
    if not 200 <= status < 300:
        if status >= 500:
            failed = response_dict.get("body")
            if isinstance(failed, bytes):
                failed_page(operation_model.name, status, failed, response_dict["headers"])
        return
    name = operation_model.name
    body = response_dict.get("body")
    if isinstance(body, bytes):  # a streamed body (GetObject) is not read here
        if body:
            if is_page(body):
                raise refused(name, status, "an HTML page")
        elif name in DOCUMENTS:
            raise refused(name, status, "an empty body")
    if name in ETAGGED and no_etag(response_dict["headers"]):
        if not isinstance(body, bytes) and body is not None:
            body.close()  # GetObject's unread stream: its connection is not reused
        raise refused(name, status, "no ETag")


def register(events: Any) -> None:
    """Hook the check into an aiobotocore client's ``before-parse`` events, ahead of
    botocore's ``_handle_200_error``: that one makes a 200 whose body it cannot parse (an
    HTML page that is not well-formed XML) a 500 of the store, which would then be
    answered without this module's log line. It is taken out and put back behind ours
    (handlers registered first run in the order they were registered)."""
    events.unregister(_EVENT, _handle_200_error)
    events.register_first(_EVENT, _check, unique_id="nfyio-proxy-pages")
    events.register_first(_EVENT, _handle_200_error)
