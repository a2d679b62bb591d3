"""The facts an access decision reads: who is calling, and what the request says.

Both are values built by the caller (the S3 dispatcher) from the parsed request and the
authenticated principal; nothing here reads a socket, a header map or a store. Condition
keys read the request's values through ``ConditionContext``: a ``RequestContext`` holds
them all; the dispatcher's own (``gateway.s3.access_context``) works each one out whenever a
key reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

from sigv4.records import record

__all__ = ["ANONYMOUS", "ConditionContext", "PrincipalFacts", "PrincipalKind", "RequestContext"]


class PrincipalKind(Enum):
    ANONYMOUS = "anonymous"
    """No credentials (no ``Authorization``, no presigned parameters)."""
    ACCOUNT = "account"
    """A credential of the account itself: its access keys and OAuth clients."""
    USER = "user"
    """A named user of an account (the OAuth password grant)."""

    # Members are singletons compared by identity: hashed by identity too, in C. Enum's
    # own __hash__ is a Python call, made for every policy decision (``_candidates``).
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class PrincipalFacts:
    """Who is calling, as the access decision sees it.

    ``scopes`` is the credential's ceiling and ``bucket_limits`` the key's bucket names or
    ``fnmatch`` patterns (None: no limit); neither applies to anonymous callers, who have
    no credential to carry them.
    """

    kind: PrincipalKind
    account_id: str | None = None
    canonical_id: str | None = None
    """The account's canonical user id (64 hex), the name ACL grants use."""
    user_name: str | None = None
    user_id: str | None = None
    scopes: frozenset[str] = frozenset()
    bucket_limits: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        anonymous = self.kind is PrincipalKind.ANONYMOUS
        if anonymous != (self.account_id is None):
            raise ValueError("an anonymous principal has no account; every other one has one")
        if (self.kind is PrincipalKind.USER) != (self.user_name is not None):
            raise ValueError("user_name is set exactly for USER principals")

    @property
    def is_anonymous(self) -> bool:
        return self.kind is PrincipalKind.ANONYMOUS


ANONYMOUS = PrincipalFacts(PrincipalKind.ANONYMOUS)


@record
class RequestContext:
    """What the request says, as the condition keys read it (None: the key is absent).

    ``now`` is the clock (aware, UTC) for ``aws:CurrentTime``/``aws:EpochTime``; the
    string fields hold the request's values exactly as sent.
    """

    now: datetime
    secure_transport: bool = False
    source_ip: str | None = None
    prefix: str | None = None
    delimiter: str | None = None
    max_keys: str | None = None
    acl: str | None = None
    """``x-amz-acl``"""
    server_side_encryption: str | None = None
    """``x-amz-server-side-encryption``"""
    existing_object_tags: Mapping[str, str] | None = field(default=None, hash=False)
    """The tags of the object the request acts on, when it exists and is read."""
    request_object_tags: Mapping[str, str] | None = field(default=None, hash=False)
    """The tags the request sets (``x-amz-tagging`` or a tagging document)."""
    version_id: str | None = None
    signature_version: str | None = None
    """``AWS`` (SigV2) or ``AWS4-HMAC-SHA256`` (SigV4); None for bearer credentials."""
    auth_type: str | None = None
    """``REST-HEADER``, ``REST-QUERY-STRING`` or ``POST``."""
    content_sha256: str | None = None
    """``x-amz-content-sha256``"""
    if_match: str | None = None
    """``If-Match`` of a write (``s3:PutObject``) or a DeleteObject, a DeleteObjects key's
    ``<ETag>``, as sent (``s3:if-match``)"""
    if_none_match: str | None = None
    """``If-None-Match`` of a write (``s3:PutObject``), as sent (``s3:if-none-match``)"""
    storage_class: str | None = None
    """``x-amz-storage-class`` as sent (a POST form's field), for ``s3:PutObject``,
    ``s3:PutObjectAcl``, ``s3:PutObjectVersionAcl`` and ``s3:BypassGovernanceRetention``"""
    copy_source: str | None = None
    """A copy's source as ``<bucket>/<key>``, percent-decoded, without a leading ``/`` or
    ``?versionId=`` (CopyObject, UploadPartCopy), for ``s3:PutObject`` and
    ``s3:BypassGovernanceRetention``"""
    metadata_directive: str | None = None
    """``x-amz-metadata-directive`` as sent, for ``s3:PutObject`` and
    ``s3:BypassGovernanceRetention``"""
    acl_grants: Mapping[str, str] | None = field(default=None, hash=False)
    """The ``x-amz-grant-*`` headers sent (lower-case name -> value), for the actions
    ``s3:x-amz-acl`` is for"""
    lock_mode: str | None = None
    """The Object Lock mode asked for (``x-amz-object-lock-mode``, a PutObjectRetention
    body's ``<Mode>``): ``s3:object-lock-mode``"""
    lock_retain_until: str | None = None
    """The retain-until date asked for, ISO 8601 in UTC (fractions of a second kept):
    ``s3:object-lock-retain-until-date``"""
    lock_remaining_days: str | None = None
    """Whole days from now to that date, rounded up:
    ``s3:object-lock-remaining-retention-days``"""
    lock_legal_hold: str | None = None
    """``ON`` or ``OFF`` asked for (``x-amz-object-lock-legal-hold``, a PutObjectLegalHold
    body's ``<Status>``): ``s3:object-lock-legal-hold``"""
    resource_account: str | None = None
    """The account owning the bucket decided on (``s3:ResourceAccount``)"""
    tls_version: str | None = None
    """The TLS version of the client's connection (``1.2``, ``1.3``); None over plain HTTP
    and behind a trusted proxy (``s3:TlsVersion``)"""
    referer: str | None = None
    """The HTTP request's ``Referer`` header, as sent (``aws:Referer``); the client's to
    choose"""
    user_agent: str | None = None
    """The HTTP request's ``User-Agent`` header, as sent (``aws:UserAgent``); the client's
    to choose"""

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("RequestContext.now must be timezone-aware")


class ConditionContext(Protocol):
    """What the condition keys read of a request; each value as ``RequestContext``
    documents it."""

    @property
    def now(self) -> datetime: ...
    @property
    def secure_transport(self) -> bool: ...
    @property
    def source_ip(self) -> str | None: ...
    @property
    def prefix(self) -> str | None: ...
    @property
    def delimiter(self) -> str | None: ...
    @property
    def max_keys(self) -> str | None: ...
    @property
    def acl(self) -> str | None: ...
    @property
    def server_side_encryption(self) -> str | None: ...
    @property
    def existing_object_tags(self) -> Mapping[str, str] | None: ...
    @property
    def request_object_tags(self) -> Mapping[str, str] | None: ...
    @property
    def version_id(self) -> str | None: ...
    @property
    def signature_version(self) -> str | None: ...
    @property
    def auth_type(self) -> str | None: ...
    @property
    def content_sha256(self) -> str | None: ...
    @property
    def if_match(self) -> str | None: ...
    @property
    def if_none_match(self) -> str | None: ...
    @property
    def storage_class(self) -> str | None: ...
    @property
    def copy_source(self) -> str | None: ...
    @property
    def metadata_directive(self) -> str | None: ...
    @property
    def acl_grants(self) -> Mapping[str, str] | None: ...
    @property
    def lock_mode(self) -> str | None: ...
    @property
    def lock_retain_until(self) -> str | None: ...
    @property
    def lock_remaining_days(self) -> str | None: ...
    @property
    def lock_legal_hold(self) -> str | None: ...
    @property
    def resource_account(self) -> str | None: ...
    @property
    def tls_version(self) -> str | None: ...
    @property
    def referer(self) -> str | None: ...
    @property
    def user_agent(self) -> str | None: ...
