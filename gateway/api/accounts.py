"""``/v1/accounts``: create, list, show and delete accounts (tenants). Only the root key
from the environment may call these (the route table's ``ROOT`` rows).

``POST /v1/accounts {"name", "email"?, "rate_limit"?}`` answers the account with its
first admin key, whose secret is shown once: ``admin`` inside an account manages that
account only (its keys, users, clients and buckets). Deleting an account that still owns
buckets is 409 (empty and delete them first, with the account's own key); otherwise its
keys are revoked and its users and clients deleted. The system account cannot be deleted.
``PATCH /v1/accounts/{id} {"rate_limit": {...} | null}`` sets or clears the account's
rate limit: every principal of the account together (docs/rate-limits.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.api.access_keys import iso, key_json
from gateway.api.cursors import issue_cursor, read_cursor
from gateway.api.errors import ApiError
from gateway.api.rate_limit_field import parse_rate_limit, rate_limit_json
from gateway.api.validation import (
    invalid,
    nothing_to_update,
    query_limit,
    read_json_object,
    required_str,
)
from gateway.audit.http import AUDIT_DETAILS, set_target
from gateway.identity import key_rules
from gateway.identity.accounts import (
    Account,
    AccountOwnsBuckets,
    DuplicateEmailError,
    DuplicateNameError,
    validate_email,
)
from gateway.identity.models import to_micros
from gateway.identity.rate_limits import RateLimit
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.ratelimit.http import RATE_LIMITER
from gateway.scopes import ADMIN
from gateway.state import IDENTITY

__all__ = [
    "account_json",
    "create_account",
    "delete_account",
    "get_account",
    "list_accounts",
    "update_account",
]

MAX_NAME = 128


def _subject(account_id: str) -> str:
    return f"account:{account_id}"


def account_json(account: Account, rate_limit: RateLimit | None = None) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "canonical_id": account.canonical_id,
        "display_name": account.display_name,
        "created_at": iso(account.created_at),
        "rate_limit": rate_limit_json(rate_limit),
    }


async def create_account(request: web.Request) -> web.Response:
    body = await read_json_object(request, allowed=("name", "email", "rate_limit"))
    rate_limit = parse_rate_limit(body)
    raw_name = required_str(body, "name")
    if len(raw_name) > MAX_NAME:
        raise invalid("name", f"'name' must be at most {MAX_NAME} characters")
    try:
        name = key_rules.validate_name(raw_name)
    except ValueError as exc:
        raise invalid("name", str(exc)) from None
    email = body.get("email")
    if email is not None:
        if not isinstance(email, str):
            raise invalid("email", "'email' must be a string")
        try:
            email = validate_email(email)
        except ValueError as exc:
            raise invalid("email", str(exc)) from None
    store = request.app[IDENTITY]
    try:
        account = await store.accounts.create(name, email=email)
    except DuplicateEmailError:
        raise ApiError(
            409, "Conflict", "Another account has this e-mail address", {"field": "email"}
        ) from None
    except DuplicateNameError:
        raise ApiError(
            409, "Conflict", "Another account has this name", {"field": "name"}
        ) from None
    now = datetime.now(UTC)
    try:
        key, secret = await store.create_key(
            key_rules.admin_key_name(name), [ADMIN], account_id=account.id, now=now
        )
        if rate_limit is not None:
            await store.rate_limits.set_override(_subject(account.id), rate_limit, to_micros(now))
    except BaseException:
        await store.delete_account(account.id)
        raise
    set_target(
        request, "account", account.id, admin_key=key.id, rate_limit=rate_limit_json(rate_limit)
    )
    admin_key = {**key_json(key, now), "secret": secret, "secret_access_key": secret}
    return web.json_response(
        {**account_json(account, rate_limit), "admin_key": admin_key}, status=201
    )


async def list_accounts(request: web.Request) -> web.Response:
    limit = query_limit(request, default=50, maximum=1000)
    cursor = read_cursor(request)
    page, next_cursor = await request.app[IDENTITY].accounts.list_page(limit=limit, cursor=cursor)
    limits = await request.app[IDENTITY].rate_limits.overrides([_subject(a.id) for a in page])
    return web.json_response(
        {
            "accounts": [account_json(a, limits.get(_subject(a.id))) for a in page],
            "next_cursor": issue_cursor(request, next_cursor),
        }
    )


async def _account_or_404(request: web.Request) -> Account:
    account = await request.app[IDENTITY].accounts.get(request.match_info["account_id"])
    if account is None:
        raise ApiError(404, "NotFound", "No such account", {"field": "account_id"})
    return account


async def get_account(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    limit = await request.app[IDENTITY].rate_limits.override(_subject(account.id))
    return web.json_response(account_json(account, limit))


async def update_account(request: web.Request) -> web.Response:
    """``PATCH {"rate_limit": {...} | null}``: the account's limit (null: the default)."""
    body = await read_json_object(request, allowed=("rate_limit",))
    if "rate_limit" not in body:  # null is a change: it restores the default
        raise nothing_to_update(("rate_limit",))
    rate_limit = parse_rate_limit(body)
    account = await _account_or_404(request)
    subject = _subject(account.id)
    await request.app[IDENTITY].rate_limits.set_override(
        subject, rate_limit, to_micros(datetime.now(UTC))
    )
    request.app[RATE_LIMITER].forget_override(subject)
    request[AUDIT_DETAILS] = {"rate_limit": rate_limit_json(rate_limit)}
    return web.json_response(account_json(account, rate_limit))


async def delete_account(request: web.Request) -> web.Response:
    account = await _account_or_404(request)
    if account.id == SYSTEM_ACCOUNT_ID:
        raise ApiError(409, "Conflict", "The system account cannot be deleted")
    store = request.app[IDENTITY]
    try:
        await store.delete_account(account.id)
    except AccountOwnsBuckets as exc:
        raise ApiError(
            409,
            "Conflict",
            "The account still owns buckets; delete them first",
            {"buckets": exc.buckets},
        ) from None
    await store.rate_limits.set_override(_subject(account.id), None, to_micros(datetime.now(UTC)))
    return web.Response(status=204)
