"""The ``rate_limit`` field of access keys and accounts:
``{"requests_per_minute": N, "burst": M}`` (``burst`` defaults to N; ``null``: the
configured default).

Like scopes and bucket limits, a rate limit is a right, so no caller mints a key with a
higher one than it has itself: a caller without ``admin`` may only ask for a limit within
its own (both numbers), and a key created without ``rate_limit`` by a caller whose own
limit is below the default gets the caller's limit (it would otherwise escape it),
each number lowered to the account's limit where that is lower (a caller's own limit may
be above its account's when the account was limited later).

No caller, ``admin`` or root included, sets a key's limit above its account's (either
number): every key of a limited account also spends the account's bucket, so a larger
number would never be reached and would only mislead whoever reads it. That is a 400
``ValidationError`` whose details name the account's limit.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.errors import ApiError
from gateway.api.validation import invalid
from gateway.config import MAX_RATE
from gateway.identity.rate_limits import RateLimit
from gateway.principal import Principal
from gateway.ratelimit.http import RATE_LIMITER
from gateway.scopes import ADMIN

__all__ = ["granted_rate_limit", "parse_rate_limit", "rate_limit_json"]

FIELD = "rate_limit"


def _positive(raw: Any, name: str) -> int:
    if isinstance(raw, float) and raw.is_integer():  # JSON Schema's integer includes 5.0
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_RATE:
        raise invalid(FIELD, f"'{FIELD}.{name}' must be an integer from 1 to {MAX_RATE}")
    return raw


def parse_rate_limit(body: dict[str, Any]) -> RateLimit | None:
    """The field of ``body``; ``None`` when absent or ``null``."""
    raw = body.get(FIELD)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid(FIELD, f"'{FIELD}' must be an object or null")
    unknown = sorted(set(raw) - {"requests_per_minute", "burst"})
    if unknown:
        raise invalid(
            FIELD, f"'{FIELD}' has an unknown member; allowed: requests_per_minute, burst"
        )
    rate = _positive(raw.get("requests_per_minute"), "requests_per_minute")
    burst = raw.get("burst")
    return RateLimit(rate, rate if burst is None else _positive(burst, "burst"))


def rate_limit_json(limit: RateLimit | None) -> dict[str, int] | None:
    if limit is None:
        return None
    return {"requests_per_minute": limit.requests_per_minute, "burst": limit.burst}


async def granted_rate_limit(
    request: web.Request, principal: Principal, asked: RateLimit | None
) -> RateLimit | None:
    """The override a new key of ``principal`` gets (``None``: the default); 403 above the
    caller's own limit (without ``admin``), 400 above the account's."""
    limiter = request.app[RATE_LIMITER]
    own = await limiter.principal_limit(principal)
    account = principal.account_id
    bound = None if account is None else await limiter.account_limit(account)
    if asked is None:
        default = limiter.principal_default
        if own is not None and (
            default is None
            or own.requests_per_minute < default.requests_per_minute
            or own.burst < default.burst
        ):
            return own if bound is None else _within(own, bound)
        return None
    if not (principal.has_scope(ADMIN) or own is None) and _exceeds(asked, own):
        raise ApiError(
            403,
            "AccessDenied",
            "A key cannot get a higher rate limit than the credential that creates it",
            {"field": FIELD, "limit": rate_limit_json(own)},
        )
    if bound is not None and _exceeds(asked, bound):
        raise ApiError(
            400,
            "ValidationError",
            f"'{FIELD}' exceeds the account's rate limit ({bound.requests_per_minute} "
            f"requests a minute, burst {bound.burst}), which every key of the account "
            "spends as well: a key's limit may not be higher",
            {"field": FIELD, "account_limit": rate_limit_json(bound)},
        )
    return asked


def _within(inherited: RateLimit, bound: RateLimit) -> RateLimit:
    """The creator's limit a key inherits, each number lowered to the account's: the
    caller asked for nothing, so there is nothing to refuse."""
    return RateLimit(
        min(inherited.requests_per_minute, bound.requests_per_minute),
        min(inherited.burst, bound.burst),
    )


def _exceeds(asked: RateLimit, limit: RateLimit) -> bool:
    return asked.requests_per_minute > limit.requests_per_minute or asked.burst > limit.burst
