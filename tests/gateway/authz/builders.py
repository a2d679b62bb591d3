"""Small builders for the access-control tables: principals, owners, contexts, policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gateway.authz import (
    ANONYMOUS,
    AccessRequest,
    CanonicalUser,
    Owner,
    Policy,
    PrincipalFacts,
    PrincipalKind,
    RequestContext,
    parse_policy,
)

__all__ = [
    "ANONYMOUS",
    "BUCKET",
    "NOW",
    "OTHER",
    "OWNER",
    "SCOPES",
    "THIRD",
    "account",
    "canonical",
    "ctx",
    "policy",
    "request",
    "stmt",
    "user",
]

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
BUCKET = "b"
OWNER = Owner("acct_owner", "a" * 64)
OTHER = Owner("acct_other", "b" * 64)
THIRD = Owner("acct_third", "c" * 64)
SCOPES = frozenset({"read:objects", "write:objects", "read:buckets", "write:buckets"})


def canonical(owner: Owner, name: str = "") -> CanonicalUser:
    return CanonicalUser(owner.canonical_id, name)


def account(
    owner: Owner = OWNER,
    *,
    scopes: frozenset[str] = SCOPES,
    limits: tuple[str, ...] | None = None,
) -> PrincipalFacts:
    return PrincipalFacts(
        PrincipalKind.ACCOUNT,
        account_id=owner.account_id,
        canonical_id=owner.canonical_id,
        scopes=scopes,
        bucket_limits=limits,
    )


def user(owner: Owner, name: str, *, scopes: frozenset[str] = SCOPES) -> PrincipalFacts:
    return PrincipalFacts(
        PrincipalKind.USER,
        account_id=owner.account_id,
        canonical_id=owner.canonical_id,
        user_name=name,
        user_id=f"usr_{name}",
        scopes=scopes,
    )


def ctx(**fields: Any) -> RequestContext:
    return RequestContext(now=fields.pop("now", NOW), **fields)


def stmt(
    effect: str = "Allow",
    principal: Any = "*",
    action: Any = "s3:GetObject",
    resource: Any = "arn:aws:s3:::b/*",
    **extra: Any,
) -> dict[str, Any]:
    """One statement; ``extra`` adds or replaces elements (``NotAction=...``, ``Sid=...``).
    An element set to None is left out."""
    out: dict[str, Any] = {
        "Effect": effect,
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    out.update(extra)
    for name in ("Principal", "Action", "Resource"):
        if f"Not{name}" in out:
            out.pop(name, None)
    return {k: v for k, v in out.items() if v is not None}


def policy(
    *statements: dict[str, Any], bucket: str = BUCKET, version: str = "2012-10-17"
) -> Policy:
    return parse_policy(
        json.dumps({"Version": version, "Statement": list(statements)}), bucket=bucket
    )


def request(
    principal: PrincipalFacts,
    action: str = "s3:GetObject",
    key: str | None = "k",
    **fields: Any,
) -> AccessRequest:
    """A request on bucket ``b`` owned by OWNER unless ``fields`` say otherwise."""
    fields.setdefault("bucket", BUCKET)
    fields.setdefault("bucket_owner", OWNER)
    fields.setdefault("scopes", ())
    fields.setdefault("context", ctx())
    return AccessRequest(principal=principal, action=action, key=key, **fields)
