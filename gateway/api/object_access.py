"""The S3 access decision for the ``/v1`` bucket and object routes.

A key reaches the same buckets and objects through ``/v1`` as through the S3 listener, so
a REST request is decided by the very function an S3 request is
(``gateway.authz.decide``, through :class:`gateway.s3.access.Access`), as the S3 operation
it performs (the row of ``gateway/s3/operations.py`` named in :data:`REST_OPERATIONS`):
listing is ``ListObjectsV2``, an upload ``PutObject``, a download ``GetObject``, a delete
``DeleteObject`` (with ``s3:GetObject`` too for ``If-Match: <etag>``, as S3 asks), a bucket
deletion ``DeleteBucket``; ``GET /v1/buckets`` shows a bucket's versioning state and
counts only where GetBucketVersioning, resp. HeadBucket would be allowed. So a bucket
policy's Deny (for the account, a user, an address, plain HTTP, ...) holds on ``/v1``
too, and an object another account wrote into the caller's bucket stays that account's
(``ObjectWriter``): its bytes are read only where its ACL grants it. The route table's
scope and :func:`gateway.api.buckets.path_bucket` (the caller's account and bucket
limits) were checked before; the decision checks them again as part of its ceiling, at
no cost worth measuring.

The condition keys read what a REST request has: the peer (``aws:SourceIp``, with
``X-Forwarded-For`` behind a trusted proxy), the scheme (``aws:SecureTransport``),
``prefix``/``delimiter``/``limit`` of a listing (``s3:prefix``, ``s3:delimiter``,
``s3:max-keys``), ``If-Match``/``If-None-Match`` of a write or delete, and
``s3:authType`` ``REST-HEADER`` with no ``s3:signatureversion`` (a Bearer credential, as
on the S3 listener), ``Referer`` and ``User-Agent`` (``aws:Referer``, ``aws:UserAgent``),
the connection's TLS version (``s3:TlsVersion``), the bucket's owner
(``s3:ResourceAccount``).
A REST request sets no ACL, encryption or tags, so those keys are
absent.

Cost: one indexed read of the bucket's settings (cached), and the object's ACL row only
in a bucket holding other accounts' objects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from backends.errors import BackendError
from gateway.api.auth import PRINCIPAL, scope_required
from gateway.api.backend_errors import raise_backend
from gateway.api.errors import ApiError
from gateway.authz import ConditionContext, Reason, RequestContext
from gateway.authz.decide import within_scopes
from gateway.peer import FORWARDED_FOR, client_scheme, tls_version
from gateway.s3.access import Access, Tags, reveals_etag
from gateway.s3.access_context import (
    CONDITIONAL_ACTIONS,
    LISTING_ACTIONS,
    principal_facts,
    source_ip,
)
from gateway.s3.bucket_facts import BucketFacts, load_bucket
from gateway.s3.operations import OPERATIONS_BY_NAME
from gateway.scopes import READ_OBJECTS
from gateway.state import BACKEND, CONFIG, IDENTITY

__all__ = ["REST_OPERATIONS", "authorize_rest", "rest_allows"]

REST_OPERATIONS = frozenset(
    {
        "ListObjectsV2",
        "PutObject",
        "GetObject",
        "DeleteObject",
        "DeleteBucket",
        "GetBucketVersioning",
        "HeadBucket",
    }
)
"""The S3 operations the ``/v1`` bucket and object routes perform, or whose answers
``GET /v1/buckets`` shows (a bucket's versioning state; its counts, as HeadBucket's
``s3:ListBucket`` under the route's ``read:buckets``)."""

_REST_AUTH_TYPE = "REST-HEADER"
"""``s3:authType`` of a Bearer / ``X-API-Key`` credential, as the S3 listener has it."""


def _context(
    request: web.Request, action: str, now: datetime, tags: Tags | None, account: str | None
) -> ConditionContext:
    trusted = request.app[CONFIG].server.trusted_forwarded_headers
    listing = action in LISTING_ACTIONS
    conditional = action in CONDITIONAL_ACTIONS
    query = request.query
    return RequestContext(
        now=now,
        secure_transport=client_scheme(request, trusted=trusted) == "https",
        source_ip=source_ip(
            request.remote, request.headers.getall(FORWARDED_FOR, ()), trusted=trusted
        ),
        prefix=query.get("prefix") if listing else None,
        delimiter=query.get("delimiter") if listing else None,
        max_keys=query.get("limit") if listing else None,
        existing_object_tags=tags,
        auth_type=_REST_AUTH_TYPE,
        if_match=request.headers.get("If-Match") if conditional else None,
        if_none_match=(request.headers.get("If-None-Match") if action == "s3:PutObject" else None),
        tls_version=None if trusted else tls_version(request.transport),
        resource_account=account,
        referer=request.headers.get("Referer"),
        user_agent=request.headers.get("User-Agent"),
    )


async def _decide(
    access: Access, facts: BucketFacts, action: str, scopes: tuple[str, ...], key: str | None
) -> None:
    """One decision; a refusal is the API's 403 (``ScopeRequired`` for a missing scope,
    as the route table's check answers it, else ``AccessDenied``)."""
    decision = await access.decide(facts, action, scopes, key=key)
    if decision.allowed:
        return
    missing = within_scopes(access.facts, scopes)
    if decision.reason is Reason.SCOPE and missing is not None:
        raise scope_required(missing)
    raise ApiError(403, "AccessDenied", decision.message, {"bucket": facts.name})


async def _access(request: web.Request, bucket: str) -> tuple[Access, BucketFacts] | None:
    """What deciding on ``bucket`` needs; None when the bucket is gone."""
    principal = request[PRINCIPAL]
    now = datetime.now(UTC)
    store, backend = request.app[IDENTITY], request.app[BACKEND]
    try:
        facts = await load_bucket(
            store,
            backend,
            bucket,
            principal,
            forced_block=request.app[CONFIG].s3.block_public_access,
        )
    except BackendError as exc:
        raise_backend(exc, {"bucket": bucket})
    if facts.owner is None:
        return None

    def context_for(
        action: str,
        version: str | None,
        tags: Tags | None,
        etag: str | None,
        account: str | None,
    ) -> ConditionContext:
        return _context(request, action, now, tags, account)

    access = Access(
        store=store,
        backend=backend,
        principal=principal,
        facts=principal_facts(principal),
        bucket=facts,
        context_for=context_for,
        forced_block=facts.forced_block,
    )
    return access, facts


async def authorize_rest(
    request: web.Request,
    bucket: str,
    operation: str,
    *,
    key: str | None = None,
    if_match: str | None = None,
) -> tuple[Access, BucketFacts]:
    """Decide ``operation`` (a name of :data:`REST_OPERATIONS`) on ``bucket`` (and
    ``key``) as the S3 listener decides it; 403 ``AccessDenied`` when refused, 404 when
    the bucket is gone. ``if_match``: a delete's condition (an ETag needs
    ``s3:GetObject`` too). Returns the facts for recording a write's owner."""
    row = OPERATIONS_BY_NAME[operation]
    found = await _access(request, bucket)
    if found is None:
        raise ApiError(404, "NotFound", "No such bucket", {"bucket": bucket})
    access, facts = found
    try:
        await _decide(access, facts, row.action, row.scopes, key)
        if reveals_etag(if_match):
            await _decide(access, facts, "s3:GetObject", (READ_OBJECTS,), key)
    except BackendError as exc:  # reading the object's tags for s3:ExistingObjectTag
        raise_backend(exc, {"bucket": bucket})
    return access, facts


async def rest_allows(
    request: web.Request, bucket: str, operations: tuple[str, ...]
) -> tuple[bool, ...] | None:
    """Whether the S3 listener would let the caller perform each of ``operations`` (bucket
    operations of :data:`REST_OPERATIONS`) on ``bucket``, for a route that shows what
    they would answer; None when the bucket is gone."""
    found = await _access(request, bucket)
    if found is None:
        return None
    access, facts = found
    allowed = []
    for operation in operations:
        row = OPERATIONS_BY_NAME[operation]
        allowed.append((await access.decide(facts, row.action, row.scopes)).allowed)
    return tuple(allowed)
