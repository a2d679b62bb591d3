"""The facts an access decision reads, built from the authenticated principal and the
parsed request: ``PrincipalFacts`` (who) and a ``LazyContext`` (the condition keys' values,
each read from the request when a key asks for it).

Nothing here re-parses the request beyond what the condition keys name: the values come
from the request object (``S3Request``) and the peer address.

- ``aws:SourceIp``: the peer address; with ``server.trusted_forwarded_headers`` the last
  address of ``X-Forwarded-For`` over all its header lines (the one the trusted proxy
  appended, to the client's line or as a line of its own: earlier entries are whatever
  the client sent and prove nothing; ``gateway.peer.last_forwarded_hop``).
- ``aws:SecureTransport``: the scheme the client used (``X-Forwarded-Proto`` when trusted),
  as ``S3Request.base_url`` already says.
- ``s3:signatureversion`` / ``s3:authType``: from how the request was signed.
- ``s3:x-amz-acl``, ``s3:x-amz-grant-*``, ``s3:x-amz-server-side-encryption``,
  ``s3:RequestObjectTag/<tag>``, ``s3:RequestObjectTagKeys``, ``s3:x-amz-storage-class``,
  ``s3:x-amz-copy-source``, ``s3:x-amz-metadata-directive``: present exactly on the
  actions AWS's service authorization reference gives them (``*_ACTIONS`` below): on any
  other a negated operator or ``Null: true`` holds, as on AWS, whatever headers the
  request sends. The ``x-amz-grant-*`` headers are gathered once per request, when a
  decision first reads one (:data:`GrantCell`).
- ``s3:object-lock-mode``, ``-retain-until-date``, ``-remaining-retention-days`` (for
  :data:`RETENTION_ACTIONS`) and ``s3:object-lock-legal-hold`` (for
  :data:`LEGAL_HOLD_ACTIONS`): what ``S3Request.object_lock`` asks for, a write's
  ``x-amz-object-lock-*`` headers or PutObjectRetention's / PutObjectLegalHold's body
  (read before the decision, ``gateway/s3/lock_conditions.py``).
- ``s3:ResourceAccount``: the account owning the bucket decided on (for a copy's source
  decision, the source bucket's), on every action.
- ``s3:TlsVersion``: the TLS version of the connection (``transport``), on every action;
  absent over plain HTTP and with ``server.trusted_forwarded_headers``, where the
  connection is the proxy's, not the client's.
- ``aws:Referer`` / ``aws:UserAgent``: the HTTP request's own ``Referer`` / ``User-Agent``
  (its first line; absent without one), for every action. Not ``S3Request.headers``: a
  POST form's are made of its fields, and the browser's headers are what these keys name.
- ``s3:ExistingObjectTag/<tag>``: the tags of the object acted on, read from the backend by
  the caller (``gateway/s3/access.py``) only when the decision needs them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from multidict import CIMultiDictProxy

from gateway.authz import ANONYMOUS, ConditionContext, PrincipalFacts, PrincipalKind
from gateway.peer import FORWARDED_FOR, last_forwarded_hop, tls_version
from gateway.principal import Principal
from gateway.s3.request import S3Request
from sigv4.memo import remember

__all__ = [
    "ACL_ACTIONS",
    "CONDITIONAL_ACTIONS",
    "LEGAL_HOLD_ACTIONS",
    "LISTING_ACTIONS",
    "OBJECT_WRITE_ACTIONS",
    "REQUEST_TAG_ACTIONS",
    "RETENTION_ACTIONS",
    "STORAGE_CLASS_ACTIONS",
    "Connection",
    "GrantCell",
    "LazyContext",
    "principal_facts",
    "request_context",
    "source_ip",
]

LISTING_ACTIONS = frozenset(
    {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}
)
"""Actions whose requests carry ``s3:prefix``, ``s3:delimiter`` and ``s3:max-keys``."""
CONDITIONAL_ACTIONS = frozenset({"s3:PutObject", "s3:DeleteObject"})
"""Actions whose requests carry ``s3:if-match`` (and, for ``s3:PutObject``,
``s3:if-none-match``): the conditional writes (PutObject, CopyObject's destination,
CompleteMultipartUpload) and deletes (DeleteObject's header, a DeleteObjects key's
``<ETag>``)."""

OBJECT_WRITE_ACTIONS = frozenset({"s3:PutObject", "s3:BypassGovernanceRetention"})
"""Actions whose requests carry the keys of an object write's own headers
(``s3:x-amz-server-side-encryption``; for a copy's destination, CopyObject and
UploadPartCopy, ``s3:x-amz-copy-source`` and ``s3:x-amz-metadata-directive``): one
concept, the write's request. AWS gives each such key to ``s3:PutObject`` and to
``s3:BypassGovernanceRetention``, to which it gives every key of ``s3:PutObject``. Every
write key below is on these actions; some, on more."""

ACL_ACTIONS = OBJECT_WRITE_ACTIONS | {
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutBucketAcl",
    "s3:CreateBucket",
}
"""Actions whose requests carry ``s3:x-amz-acl`` and ``s3:x-amz-grant-*``."""
REQUEST_TAG_ACTIONS = OBJECT_WRITE_ACTIONS | {"s3:PutObjectTagging", "s3:PutObjectVersionTagging"}
"""Actions whose requests carry ``s3:RequestObjectTag/<tag>`` and
``s3:RequestObjectTagKeys``: not the ``s3:GetObject`` of a copy's source, nor the
``s3:PutObjectRetention`` / ``s3:PutObjectLegalHold`` a locked write is decided for too."""
RETENTION_ACTIONS = OBJECT_WRITE_ACTIONS | {"s3:PutObjectRetention"}
"""Actions whose requests carry ``s3:object-lock-mode``,
``s3:object-lock-retain-until-date`` and ``s3:object-lock-remaining-retention-days``."""
LEGAL_HOLD_ACTIONS = OBJECT_WRITE_ACTIONS | {"s3:PutObjectLegalHold"}
"""Actions whose requests carry ``s3:object-lock-legal-hold``."""
STORAGE_CLASS_ACTIONS = OBJECT_WRITE_ACTIONS | {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}
"""Actions whose requests carry ``s3:x-amz-storage-class``."""


_GRANT = "x-amz-grant-"

GrantCell = list[Mapping[str, str]]
"""Where one request's decisions keep its ``x-amz-grant-*`` headers (the
``s3:x-amz-grant-*`` keys): empty until a decision first reads a grant key, then holding
that mapping, gathered once for the request's other keys and decisions (a DeleteObjects'
``s3:BypassGovernanceRetention`` for each key). Each read used to gather them anew, a pass
over every header: five times for a policy naming the five keys. A list, the cheapest
cell (about 150 instructions; an object of a class of our own costs 700 to 1,250): the
dispatcher makes one per request (``gateway/s3/access.py``) and most never fill it."""


_FACTS: dict[int, tuple[Principal, PrincipalFacts]] = {}
_FACTS_KEPT = 1024
"""Principals whose facts are remembered (emptied when full)."""


def principal_facts(principal: Principal) -> PrincipalFacts:
    """Who is calling, as the access decision sees it. Remembered by the principal's
    identity (the entry holds it, so no other object takes its id meanwhile): an access
    key gives every request it signs the same ``Principal`` (``AccessKey.principal``),
    and building the facts anew cost ~1.7 us per request."""
    if principal.is_anonymous:
        return ANONYMOUS
    found = _FACTS.get(id(principal))
    if found is not None and found[0] is principal:
        return found[1]
    facts = _facts(principal)
    remember(_FACTS, id(principal), (principal, facts), _FACTS_KEPT)
    return facts


def _facts(principal: Principal) -> PrincipalFacts:
    is_user = principal.kind == "user"
    return PrincipalFacts(
        kind=PrincipalKind.USER if is_user else PrincipalKind.ACCOUNT,
        account_id=principal.account_id,
        canonical_id=principal.canonical_id,
        user_name=(principal.user_name or principal.subject) if is_user else None,
        user_id=principal.subject if is_user else None,
        scopes=principal.scopes,
        bucket_limits=principal.buckets,
    )


def source_ip(peer: str | None, forwarded: Sequence[str], *, trusted: bool) -> str | None:
    """``aws:SourceIp``: ``forwarded`` holds every ``X-Forwarded-For`` line, in order."""
    if trusted:
        hop = last_forwarded_hop(forwarded)
        if hop is not None:
            return hop
    return peer


def _signature(principal: Principal, req: S3Request) -> tuple[str | None, str | None]:
    """(``s3:signatureversion``, ``s3:authType``)."""
    if principal.is_anonymous:
        return None, None
    if req.operation.name == "PostObject":  # a browser form: its fields were the signature
        return req.form_signature, "POST"
    query = req.query
    if "X-Amz-Signature" in query:
        return "AWS4-HMAC-SHA256", "REST-QUERY-STRING"
    if "Signature" in query and "AWSAccessKeyId" in query:
        return "AWS", "REST-QUERY-STRING"
    if req.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
        return "AWS4-HMAC-SHA256", "REST-HEADER"
    return None, "REST-HEADER"  # Bearer / X-API-Key


class Connection(Protocol):
    """What a context reads of the HTTP request beside the parsed one (an aiohttp
    ``web.Request`` is one): read only when a key asks for it."""

    @property
    def remote(self) -> str | None:
        """The peer's address."""

    @property
    def headers(self) -> CIMultiDictProxy[str] | None:
        """The HTTP request's own headers, every line of a repeated one kept; None: read
        the parsed request's (the first line of each)."""

    @property
    def transport(self) -> asyncio.BaseTransport | None:
        """The connection's (``s3:TlsVersion``)."""


@dataclass(frozen=True, slots=True)
class _Given:
    """A ``Connection`` of values given up front (``request_context``)."""

    remote: str | None
    headers: CIMultiDictProxy[str] | None
    transport: asyncio.BaseTransport | None


def request_context(
    principal: Principal,
    req: S3Request,
    action: str,
    *,
    now: datetime,
    peer: str | None,
    trusted_forwarded: bool,
    version_id: str | None,
    existing_object_tags: Mapping[str, str] | None = None,
    etag: str | None = None,
    raw_headers: CIMultiDictProxy[str] | None = None,
    transport: asyncio.BaseTransport | None = None,
    resource_account: str | None = None,
    grants: GrantCell | None = None,
) -> ConditionContext:
    """The request's condition values for ``action``, each read when a key asks for it;
    ``etag``: the ``<ETag>`` of the DeleteObjects key decided (its ``s3:if-match``);
    ``raw_headers``: the HTTP request's own, every line of a repeated header kept (the
    parsed request keeps the first: ``X-Forwarded-For`` needs them all); ``transport``:
    the connection's (``s3:TlsVersion``); ``resource_account``: the bucket's owner;
    ``grants``: the request's, shared by its decisions (else this context's own). The
    dispatcher builds its ``LazyContext`` directly, over the aiohttp request."""
    return LazyContext(
        principal,
        req,
        _Given(peer, raw_headers, transport),
        now,
        trusted_forwarded,
        [] if grants is None else grants,
        action,
        version_id,
        existing_object_tags,
        etag,
        resource_account,
    )


class LazyContext:
    """``ConditionContext`` of one request: each value is worked out from the request when
    a condition key reads it, as ``RequestContext`` documents it.

    A policy decision reads the keys its addressed statements name (two in the benchmark's
    20-statement policy; a remembered decision reads nothing else), and building all
    fourteen values up front cost 15k instructions, as much as the decision itself. Made
    once per decision on a bucket with a policy, so it takes its eleven values by
    position and stores them as given: the peer's address and the connection are read
    from ``connection`` when a key asks (``request.remote`` and ``request.transport``
    are properties of aiohttp's request), and what the action decides (listing
    parameters, conditional keys) is looked up when read.
    """

    __slots__ = (
        "_action",
        "_connection",
        "_etag",
        "_grants",
        "_principal",
        "_req",
        "_trusted",
        "existing_object_tags",
        "now",
        "resource_account",
        "version_id",
    )

    def __init__(
        self,
        principal: Principal,
        req: S3Request,
        connection: Connection,
        now: datetime,
        trusted_forwarded: bool,
        grants: GrantCell,
        action: str,
        version_id: str | None,
        existing_object_tags: Mapping[str, str] | None,
        etag: str | None,
        resource_account: str | None,
    ) -> None:
        """``grants``: the request's cell, shared by its decisions (:data:`GrantCell`)."""
        if now.tzinfo is None:
            raise ValueError("a request context's clock must be timezone-aware")
        self._principal = principal
        self._req = req
        self._connection = connection
        self.now = now
        self._trusted = trusted_forwarded
        self._grants = grants
        self._action = action
        self.version_id = version_id
        self.existing_object_tags = existing_object_tags
        self._etag = etag
        self.resource_account = resource_account

    @property
    def secure_transport(self) -> bool:
        return self._req.base_url.startswith("https://")

    @property
    def source_ip(self) -> str | None:
        if not self._trusted:  # source_ip's answer without a trusted forwarded header
            return self._connection.remote
        raw = self._connection.headers
        if raw is not None:
            forwarded: Sequence[str] = raw.getall(FORWARDED_FOR, ())
        else:
            line = self._req.headers.get(FORWARDED_FOR.lower())
            forwarded = () if line is None else (line,)
        return source_ip(self._connection.remote, forwarded, trusted=True)

    @property
    def prefix(self) -> str | None:
        return self._req.query.get("prefix") if self._action in LISTING_ACTIONS else None

    @property
    def delimiter(self) -> str | None:
        return self._req.query.get("delimiter") if self._action in LISTING_ACTIONS else None

    @property
    def max_keys(self) -> str | None:
        return self._req.query.get("max-keys") if self._action in LISTING_ACTIONS else None

    @property
    def acl(self) -> str | None:
        if self._action not in ACL_ACTIONS:
            return None
        return self._req.headers.get("x-amz-acl")

    @property
    def acl_grants(self) -> Mapping[str, str] | None:
        if self._action not in ACL_ACTIONS:
            return None
        cell = self._grants
        if not cell:
            cell.append({k: v for k, v in self._req.headers.items() if k.startswith(_GRANT)})
        return cell[0]

    @property
    def server_side_encryption(self) -> str | None:
        if self._action not in OBJECT_WRITE_ACTIONS:
            return None
        return self._req.headers.get("x-amz-server-side-encryption")

    @property
    def request_object_tags(self) -> Mapping[str, str] | None:
        tags = self._req.tags
        if tags is None or self._action not in REQUEST_TAG_ACTIONS:
            return None
        return dict(tags)

    @property
    def signature_version(self) -> str | None:
        return _signature(self._principal, self._req)[0]

    @property
    def auth_type(self) -> str | None:
        return _signature(self._principal, self._req)[1]

    @property
    def content_sha256(self) -> str | None:
        return self._req.headers.get("x-amz-content-sha256")

    @property
    def if_match(self) -> str | None:
        if self._action not in CONDITIONAL_ACTIONS:
            return None
        if self._req.operation.name == "DeleteObjects":
            return self._etag  # each key's own <ETag>, not a header of the request
        return self._req.headers.get("if-match")

    @property
    def if_none_match(self) -> str | None:
        if self._action not in CONDITIONAL_ACTIONS or self._req.operation.name == "DeleteObjects":
            return None
        return self._req.headers.get("if-none-match")

    def _retention(self) -> tuple[str, datetime] | None:
        lock = self._req.object_lock
        if lock is None or self._action not in RETENTION_ACTIONS:
            return None
        if lock.mode is None or lock.retain_until is None:
            return None
        return lock.mode, lock.retain_until

    @property
    def lock_mode(self) -> str | None:
        retention = self._retention()
        return None if retention is None else retention[0]

    @property
    def lock_retain_until(self) -> str | None:
        retention = self._retention()
        if retention is None:
            return None
        return retention[1].astimezone(UTC).isoformat().replace("+00:00", "Z")

    @property
    def lock_remaining_days(self) -> str | None:
        retention = self._retention()
        if retention is None:
            return None
        seconds = (retention[1] - self.now).total_seconds()
        return str(math.ceil(seconds / 86400))

    @property
    def lock_legal_hold(self) -> str | None:
        lock = self._req.object_lock
        if lock is None or lock.legal_hold is None or self._action not in LEGAL_HOLD_ACTIONS:
            return None
        return "ON" if lock.legal_hold else "OFF"

    @property
    def storage_class(self) -> str | None:
        if self._action not in STORAGE_CLASS_ACTIONS:
            return None
        return self._req.headers.get("x-amz-storage-class")

    @property
    def copy_source(self) -> str | None:
        source = self._req.copy_source
        if source is None or self._action not in OBJECT_WRITE_ACTIONS:
            return None
        return f"{source.bucket}/{source.key}"

    @property
    def metadata_directive(self) -> str | None:
        if self._action not in OBJECT_WRITE_ACTIONS:
            return None
        return self._req.headers.get("x-amz-metadata-directive")

    @property
    def tls_version(self) -> str | None:
        return None if self._trusted else tls_version(self._connection.transport)

    def _http_header(self, name: str) -> str | None:
        """A header of the HTTP request itself (a POST form's ``S3Request.headers`` are
        its fields); the first line of a repeated one, as ``S3Request.headers`` keeps."""
        raw = self._connection.headers
        if raw is not None:
            return raw.get(name)
        return self._req.headers.get(name.lower())

    @property
    def referer(self) -> str | None:
        return self._http_header("Referer")

    @property
    def user_agent(self) -> str | None:
        return self._http_header("User-Agent")
