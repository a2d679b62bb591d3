"""The facts an access decision reads, built from the authenticated principal and the
parsed request: ``PrincipalFacts`` (who) and ``RequestContext`` (the condition keys).

Nothing here re-parses the request beyond what the condition keys name: the values come
from the request object (``S3Request``) and the peer address.

- ``aws:SourceIp``: the peer address; with ``server.trusted_forwarded_headers`` the last
  address of ``X-Forwarded-For`` (the one the trusted proxy appended: earlier entries are
  whatever the client sent and prove nothing).
- ``aws:SecureTransport``: the scheme the client used (``X-Forwarded-Proto`` when trusted),
  as ``S3Request.base_url`` already says.
- ``s3:signatureversion`` / ``s3:authType``: from how the request was signed.
- ``s3:ExistingObjectTag/<tag>``: the tags of the object acted on, read from the backend by
  the caller (``gateway/s3/access.py``) only when the decision needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.authz import ANONYMOUS, PrincipalFacts, PrincipalKind, RequestContext
from gateway.principal import Principal
from gateway.s3.request import S3Request

__all__ = ["LISTING_ACTIONS", "principal_facts", "request_context", "source_ip"]

LISTING_ACTIONS = frozenset(
    {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}
)
"""Actions whose requests carry ``s3:prefix``, ``s3:delimiter`` and ``s3:max-keys``."""


def principal_facts(principal: Principal) -> PrincipalFacts:
    if principal.is_anonymous:
        return ANONYMOUS
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


def source_ip(peer: str | None, headers: Mapping[str, str], *, trusted: bool) -> str | None:
    if trusted:
        forwarded = headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


def _signature(principal: Principal, req: S3Request) -> tuple[str | None, str | None]:
    """(``s3:signatureversion``, ``s3:authType``)."""
    if principal.is_anonymous:
        return None, None
    query = req.query
    if "X-Amz-Signature" in query:
        return "AWS4-HMAC-SHA256", "REST-QUERY-STRING"
    if "Signature" in query and "AWSAccessKeyId" in query:
        return "AWS", "REST-QUERY-STRING"
    if req.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
        return "AWS4-HMAC-SHA256", "REST-HEADER"
    return None, "REST-HEADER"  # Bearer / X-API-Key


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
) -> RequestContext:
    headers, query = req.headers, req.query
    listing = action in LISTING_ACTIONS
    signature_version, auth_type = _signature(principal, req)
    return RequestContext(
        now=now,
        secure_transport=req.base_url.startswith("https://"),
        source_ip=source_ip(peer, headers, trusted=trusted_forwarded),
        prefix=query.get("prefix") if listing else None,
        delimiter=query.get("delimiter") if listing else None,
        max_keys=query.get("max-keys") if listing else None,
        acl=headers.get("x-amz-acl"),
        server_side_encryption=headers.get("x-amz-server-side-encryption"),
        existing_object_tags=existing_object_tags,
        request_object_tags=None if req.tags is None else dict(req.tags),
        version_id=version_id,
        signature_version=signature_version,
        auth_type=auth_type,
        content_sha256=headers.get("x-amz-content-sha256"),
    )
