"""Bearer credentials shared by both listeners: an API key secret or a JWT."""

from __future__ import annotations

from datetime import datetime

from gateway.auth.errors import AuthError
from gateway.auth.principal import Principal
from gateway.identity.store import IdentityStore
from gateway.state import TokenVerifier


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


async def principal_from_bearer(
    token: str,
    store: IdentityStore,
    verifier: TokenVerifier | None,
    now: datetime,
) -> Principal:
    """Resolve ``Authorization: Bearer`` / ``X-API-Key`` to a principal or raise."""
    token = token.strip()
    if looks_like_jwt(token):
        if verifier is None:
            raise AuthError("InvalidToken", "Bearer tokens are not enabled")
        return await verifier(token)
    key = store.find_by_secret(token, now)
    if key is None:
        raise AuthError("InvalidAccessKeyId", "The API key is unknown, revoked or expired")
    store.record_use(key.id, now)
    return key.principal()
