"""``/v1/access-keys``: create, list, show, revoke and rotate access keys.

Who may do what is :mod:`gateway.api.key_policy`. A secret appears in exactly two
responses (create and rotate) and nowhere else: not in listings, errors or logs. A key
minted here records the credential that minted it (:mod:`gateway.identity.lineage`):
revoking that credential revokes the key, and the key never outlives it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.api import key_policy
from gateway.api.auth import PRINCIPAL
from gateway.api.cursors import issue_cursor, read_cursor
from gateway.api.errors import ApiError
from gateway.api.rate_limit_field import granted_rate_limit, parse_rate_limit, rate_limit_json
from gateway.api.validation import (
    invalid,
    optional_datetime,
    optional_int,
    optional_str_list,
    query_bool,
    query_limit,
    read_json_object,
    required_str,
)
from gateway.audit.http import AUDIT_DETAILS, set_target
from gateway.identity import key_rules
from gateway.identity.lineage import Lineage, ParentBoundError, ParentInactiveError
from gateway.identity.models import AccessKey
from gateway.identity.rate_limits import RateLimit
from gateway.principal import Principal
from gateway.scopes import ALL_SCOPES, unknown_scopes
from gateway.state import CONFIG, IDENTITY

__all__ = [
    "MAX_GRACE_SECONDS",
    "MAX_NAME",
    "create_key",
    "get_key",
    "iso",
    "key_json",
    "list_keys",
    "revoke_key",
    "rotate_key",
]

MAX_GRACE_SECONDS = 7 * 24 * 3600
DEFAULT_PAGE = 50
MAX_PAGE = 1000
MAX_NAME = 128
_CREATE_FIELDS = ("name", "scopes", "expires_at", "buckets", "rate_limit")


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def key_status(key: AccessKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def key_json(key: AccessKey, now: datetime, rate_limit: RateLimit | None = None) -> dict[str, Any]:
    """A key as the API shows it: never its secret. ``rate_limit``: its override
    (``None``: the configured default applies)."""
    return {
        "id": key.id,
        "access_key_id": key.id,
        "name": key.name,
        "scopes": sorted(key.scopes),
        "buckets": None if key.buckets is None else list(key.buckets),
        "created_at": iso(key.created_at),
        "expires_at": iso(key.expires_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
        "owner": key.owner,
        "account_id": key.account_id,
        "root": key.is_root,
        "status": key_status(key, now),
        "rate_limit": rate_limit_json(rate_limit),
    }


def _with_secret(
    key: AccessKey, secret: str, now: datetime, rate_limit: RateLimit | None = None
) -> dict[str, Any]:
    body = key_json(key, now, rate_limit)
    body["secret"] = secret
    body["secret_access_key"] = secret
    return body


def _unique(field: str, items: list[str]) -> list[str]:
    if len(set(items)) != len(items):
        raise invalid(field, f"'{field}' contains duplicates")
    return items


def _parse_create(
    body: dict[str, Any], now: datetime
) -> tuple[str, list[str], list[str] | None, datetime | None]:
    raw_name = required_str(body, "name")
    if len(raw_name) > MAX_NAME:  # before stripping, as the OpenAPI schema says
        raise invalid("name", f"'name' must be at most {MAX_NAME} characters")
    try:
        name = key_rules.validate_name(raw_name)
    except ValueError as exc:
        raise invalid("name", str(exc)) from None
    scopes = optional_str_list(body, "scopes")
    if scopes is None:
        raise invalid("scopes", "'scopes' is required")
    # Our own messages: a caller's value is never echoed (it might be a pasted secret).
    if unknown_scopes(_unique("scopes", scopes)) or not scopes:
        raise invalid(
            "scopes", f"'scopes' must be a non-empty list of: {', '.join(sorted(ALL_SCOPES))}"
        )
    buckets = optional_str_list(body, "buckets")
    if buckets is not None:
        if not buckets:
            raise invalid("buckets", "'buckets' must list at least one bucket (null: all)")
        try:
            key_rules.validate_buckets(_unique("buckets", buckets))
        except ValueError:
            raise invalid(
                "buckets",
                "'buckets' must list at most 100 bucket names or patterns (a-z 0-9 . - and"
                " the wildcards * ? and bracket sets such as [ab], [a-c], [!x]: closed,"
                " ranges ascending, matching some bucket-name character)",
            ) from None
    expires_at = optional_datetime(body, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise invalid("expires_at", "'expires_at' must be in the future")
    return name, scopes, buckets, expires_at


def _credential_gone(principal: Principal) -> ApiError:
    if principal.kind == "key":
        return ApiError(401, "InvalidApiKey", "The access key is revoked or expired")
    return ApiError(
        401, "InvalidToken", "The token, its session, user or client is no longer valid"
    )


async def _lifetime(request: web.Request, principal: Principal, now: datetime) -> datetime | None:
    """When the caller's credential ends: a key's expiry, a client-credentials token's
    ``exp``, and for a user's token its refresh family's cap (the session row)."""
    if principal.kind == "user" and principal.session_id is not None:
        session = await request.app[IDENTITY].sessions.get(principal.session_id)
        if session is None or not session.is_active(now):
            raise _credential_gone(principal)
        return session.expires_at
    return principal.expires_at


def _account(principal: Principal) -> str:
    assert principal.account_id is not None  # the API authenticates every caller
    return principal.account_id


async def create_key(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    body = await read_json_object(request, allowed=_CREATE_FIELDS)
    now = datetime.now(UTC)
    name, scopes, buckets, expires_at = _parse_create(body, now)
    lifetime = await _lifetime(request, principal, now)
    grant = key_policy.check_grant(principal, scopes, buckets, expires_at, lifetime=lifetime)
    rate_limit = await granted_rate_limit(request, principal, parse_rate_limit(body))
    try:
        key, secret = await request.app[IDENTITY].create_key(
            name,
            scopes,
            expires_at=grant.expires_at,
            buckets=grant.buckets,
            owner=principal.subject,
            parent=Lineage.of(principal),
            account_id=_account(principal),
            rate_limit=rate_limit,
            most=request.app[CONFIG].identity.max_keys_per_account,
            now=now,
        )
    except ParentInactiveError:  # revoked between authentication and the insert
        raise _credential_gone(principal) from None
    except ParentBoundError:
        raise key_policy.outlives_parent() from None
    set_target(
        request,
        "access_key",
        key.id,
        scopes=sorted(key.scopes),
        buckets=None if key.buckets is None else list(key.buckets),
        expires_at=iso(key.expires_at),
        rate_limit=rate_limit_json(rate_limit),
    )
    return web.json_response(_with_secret(key, secret, now, rate_limit), status=201)


async def list_keys(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    limit = query_limit(request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    cursor = read_cursor(request)
    # The caller's own keys (those it created and the one it calls with): a non-admin's
    # listing, and ?mine=true for admins too, who otherwise list the whole account's.
    owner = principal.subject if query_bool(request, "mine") else key_policy.listed_owner(principal)
    page, next_cursor = await request.app[IDENTITY].list_keys(
        owner=owner,
        or_id=None if owner is None else principal.key_id,
        account=_account(principal),
        limit=limit,
        cursor=cursor,
    )
    now = datetime.now(UTC)
    limits = await request.app[IDENTITY].rate_limits.overrides([f"key:{k.id}" for k in page])
    return web.json_response(
        {
            "access_keys": [key_json(k, now, limits.get(f"key:{k.id}")) for k in page],
            "next_cursor": issue_cursor(request, next_cursor),
        }
    )


async def _visible_key(request: web.Request, principal: Principal) -> AccessKey:
    """The key named in the path, or 404 alike for unknown keys and others' keys."""
    key_id = request.match_info["key_id"]
    key = await request.app[IDENTITY].get_key(key_id)
    if key is None or not key_policy.can_see(principal, key):
        raise ApiError(404, "NotFound", "No such access key", {"field": "key_id"})
    return key


async def get_key(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    key = await _visible_key(request, principal)
    limit = await request.app[IDENTITY].rate_limits.override(f"key:{key.id}")
    return web.json_response(key_json(key, datetime.now(UTC), limit))


async def revoke_key(request: web.Request) -> web.Response:
    """Idempotent: revoking a revoked key answers 204 again."""
    principal = request[PRINCIPAL]
    key = await _visible_key(request, principal)
    if key.is_root:
        raise ApiError(
            409,
            "Conflict",
            "The root key is managed by the environment (NFYIO_ROOT_ACCESS_KEY / "
            "NFYIO_ROOT_SECRET_KEY) and cannot be revoked through the API",
        )
    await request.app[IDENTITY].revoke_key(key.id)
    return web.Response(status=204)


async def rotate_key(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    body = await read_json_object(request, allowed=("grace_seconds",), optional_body=True)
    grace_seconds = optional_int(body, "grace_seconds", minimum=0, maximum=MAX_GRACE_SECONDS)
    key = await _visible_key(request, principal)
    now = datetime.now(UTC)
    lifetime = await _lifetime(request, principal, now)
    key_policy.check_rotatable(principal, key, lifetime=lifetime)
    grace = timedelta(seconds=grace_seconds or 0)
    rotated = await request.app[IDENTITY].rotate_key(key.id, grace=grace, now=now)
    if rotated is None:
        raise ApiError(409, "Conflict", "The key is revoked or expired; it cannot be rotated")
    new_key, secret = rotated
    limit = await request.app[IDENTITY].rate_limits.override(f"key:{key.id}")
    request[AUDIT_DETAILS] = {"grace_seconds": grace_seconds or 0}
    response = _with_secret(new_key, secret, now, limit)
    response["previous_secret_expires_at"] = iso(now + grace) if grace else None
    return web.json_response(response)
