"""RS256 access tokens (RFC 9068 profile): issuing and verifying.

Verification trusts nothing in the token's header but the ``kid``, which only selects a
key from our own ``signing_keys`` table; the algorithm is pinned to RS256 (``none``,
HS256 keyed with our public key, and any other algorithm are refused), ``typ`` must be
``at+jwt``, and ``iss``, ``aud``, ``exp``, ``nbf``, ``iat``, ``sub`` and ``jti`` are
required and checked with a small leeway. Then one indexed read checks the live state:
the session (refresh family) not revoked, the user not disabled or deleted, the client
not deleted, the token not revoked. The principal's scopes are the token's scopes still
granted by the user's and the client's current scopes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from gateway.auth.errors import AuthError
from gateway.identity.store import IdentityStore
from gateway.oauth.grant_scopes import held
from gateway.oauth.settings import OAuthSettings
from gateway.principal import Principal

__all__ = ["AccessTokenVerifier", "Claims", "InvalidToken", "issue_access_token"]

ALGORITHM = "RS256"
JWT_TYP = "at+jwt"
_ACCEPTED_TYP = {"at+jwt", "application/at+jwt"}
_REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
_KID = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""The kids this gateway makes (``kid_`` + 20 letters and digits; base64url from earlier
releases). Anything else is refused before the state store is asked: a lone surrogate
(JSON's ``\\ud800``) cannot be encoded for SQLite, PostgreSQL refuses NUL, and a long
kid is work for nothing."""


class InvalidToken(Exception):
    """The access token is malformed, not ours, expired, or no longer valid."""


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    client_id: str
    scopes: frozenset[str]
    jti: str
    session_id: str | None
    account_id: str | None
    """The ``account`` claim (tokens issued before accounts existed have none)."""
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    raw: dict[str, Any]

    @property
    def is_client_token(self) -> bool:
        return self.session_id is None


async def issue_access_token(
    store: IdentityStore,
    settings: OAuthSettings,
    *,
    subject: str,
    client_id: str,
    scopes: frozenset[str],
    session_id: str | None,
    now: datetime,
    not_after: datetime | None = None,
    account_id: str | None = None,
    username: str | None = None,
    roles: Sequence[str] | None = None,
) -> tuple[str, int]:
    """Sign an access token with the active key; return it and its lifetime in seconds
    (``access_ttl``, shortened so the token never outlives ``not_after``). ``account_id``
    is the account the user or client belongs to (claim ``account``). A user's token
    also names the user (``preferred_username``, OpenID Connect's claim) and carries the
    user's role names (``roles``, RFC 9068 section 2.2.3.1), as they were at issue."""
    active = await store.signing_keys.active()
    if active is None:
        raise RuntimeError("no active signing key (the API listener creates one at start)")
    kid, private_key = active
    iat = int(now.timestamp())
    lifetime = settings.access_ttl
    if not_after is not None:
        lifetime = max(1, min(lifetime, int(not_after.timestamp()) - iat))
    payload: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": subject,
        "aud": settings.audience,
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime,
        "jti": secrets.token_urlsafe(16),
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
    }
    if session_id is not None:
        payload["sid"] = session_id
    if account_id is not None:
        payload["account"] = account_id
    if username is not None:
        payload["preferred_username"] = username
    if roles is not None:
        payload["roles"] = list(roles)
    token = jwt.encode(
        payload, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": JWT_TYP}
    )
    return token, lifetime


def _timestamp(claims: dict[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"'{name}' is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):  # beyond year 9999 or time_t
        raise InvalidToken(f"'{name}' is out of range") from None


def _string(claims: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"'{name}' must be a non-empty string")
    return value


class AccessTokenVerifier:
    """The app's ``TOKEN_VERIFIER``: ``await verifier(token) -> Principal``."""

    def __init__(self, store: IdentityStore, settings: OAuthSettings) -> None:
        self._store = store
        self._settings = settings

    async def decode(self, token: str, *, now: datetime | None = None) -> Claims:
        """Signature and claims only (no live-state check). Raises :class:`InvalidToken`."""
        when = now or datetime.now(UTC)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a well-formed JWT") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The token must be signed with RS256")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP:
            raise InvalidToken("The token is not an access token (typ must be at+jwt)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token has no key id")
        if not _KID.fullmatch(kid):
            raise InvalidToken("The token was not signed by a current key of this gateway")
        key = await self._store.signing_keys.public_key(kid, when)
        if key is None:
            raise InvalidToken("The token was not signed by a current key of this gateway")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The token is not valid yet") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token is invalid: {exc}") from None
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise InvalidToken("'scope' must be a string")
        subject = _string(claims, "sub")
        client_id = _string(claims, "client_id")
        jti = _string(claims, "jti")
        assert subject is not None and client_id is not None and jti is not None
        session_id = _string(claims, "sid", required=False)
        account_id = _string(claims, "account", required=False)
        if session_id is None and subject != client_id:
            raise InvalidToken("A token without a session must belong to its client")
        return Claims(
            subject=subject,
            client_id=client_id,
            scopes=frozenset(scope.split()),
            jti=jti,
            session_id=session_id,
            account_id=account_id,
            issued_at=_timestamp(claims, "iat"),
            not_before=_timestamp(claims, "nbf"),
            expires_at=_timestamp(claims, "exp"),
            raw=claims,
        )

    async def live(self, claims: Claims) -> tuple[frozenset[str], str, str | None]:
        """The token's scopes still granted now, the account and (for a user) the
        username; raises :class:`InvalidToken` when the session, user, client or token
        itself has been revoked, disabled or deleted, or the account claim is not the
        account the user or client belongs to."""
        sessions = self._store.sessions
        if claims.session_id is None:
            found = await sessions.client_token_scopes(claims.client_id, claims.jti)
            if found is None:
                raise InvalidToken("The token or its client has been revoked")
            client_scopes, account = found
            scopes = held(claims.scopes, client_scopes)
            username = None
        else:
            state = await sessions.user_token_scopes(
                claims.session_id, claims.subject, claims.client_id, claims.jti
            )
            if state is None:
                raise InvalidToken("The token, its session, user or client is no longer valid")
            user_scopes, client_scopes, account, username = state
            scopes = held(claims.scopes, user_scopes, client_scopes)
        if claims.account_id is not None and claims.account_id != account:
            raise InvalidToken("The token's account is not its subject's account")
        return scopes, account, username

    async def live_scopes(self, claims: Claims) -> frozenset[str]:
        """The token's scopes still granted now (see :meth:`live`)."""
        scopes, _, _ = await self.live(claims)
        return scopes

    async def principal(self, token: str, *, now: datetime | None = None) -> Principal:
        claims = await self.decode(token, now=now)
        scopes, account, username = await self.live(claims)
        return Principal(
            kind="client" if claims.is_client_token else "user",
            subject=claims.subject,
            scopes=scopes,
            expires_at=claims.expires_at,
            client_id=claims.client_id,
            session_id=claims.session_id,
            token_id=claims.jti,
            account_id=account,
            user_name=username,
        )

    async def __call__(self, token: str) -> Principal:
        try:
            return await self.principal(token)
        except InvalidToken as exc:
            raise AuthError("InvalidToken", str(exc)) from None
