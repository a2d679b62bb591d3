"""Bearer credentials shared by both listeners: an API key secret or a JWT.

This module knows what it needs of the identity store (:class:`ApiKeys`) but not the
store itself: ``gateway.identity`` and ``gateway.auth`` never import each other (an
import-linter contract in ``pyproject.toml``). ``IdentityStore`` is an ``ApiKeys``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from gateway.auth.errors import AuthError
from gateway.principal import Principal

__all__ = ["ApiKey", "ApiKeys", "TokenVerifier", "looks_like_jwt", "principal_from_bearer"]

TokenVerifier = Callable[[str], Awaitable[Principal]]
"""Turns a bearer JWT into a principal or raises ``gateway.auth.errors.AuthError``."""


class ApiKey(Protocol):
    """An access key found by its secret (``gateway.identity.models.AccessKey``)."""

    @property
    def id(self) -> str: ...

    def principal(self) -> Principal: ...


class ApiKeys(Protocol):
    """The lookups a Bearer / ``X-API-Key`` secret needs (``IdentityStore`` has them)."""

    async def find_by_secret(self, secret: str, now: datetime, /) -> ApiKey | None: ...

    def record_use(self, key_id: str, when: datetime, /) -> None: ...


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


async def principal_from_bearer(
    token: str,
    keys: ApiKeys,
    verifier: TokenVerifier | None,
    now: datetime,
) -> Principal:
    """Resolve ``Authorization: Bearer`` / ``X-API-Key`` to a principal or raise."""
    token = token.strip()
    if looks_like_jwt(token):
        if verifier is None:
            raise AuthError("InvalidToken", "Bearer tokens are not enabled")
        return await verifier(token)
    key = await keys.find_by_secret(token, now)
    if key is None:
        raise AuthError("InvalidAccessKeyId", "The API key is unknown, revoked or expired")
    keys.record_use(key.id, now)
    return key.principal()
