"""Authentication on the S3 listener: SigV4 (header or presigned), Bearer, X-API-Key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from multidict import CIMultiDict

from gateway.auth.bearer import TokenVerifier, principal_from_bearer
from gateway.auth.credentials import bearer_token
from gateway.auth.errors import AuthCode, AuthError
from gateway.identity.store import IdentityStore
from gateway.principal import ANONYMOUS, Principal
from gateway.s3.errors import S3Error
from sigv4 import (
    SignatureDoesNotMatch,
    SignedRequest,
    VerifiedRequest,
    parse_auth,
    parse_presigned_v2,
    verify,
    verify_presigned_v2,
)

__all__ = ["authenticate_s3", "verify_with_key", "with_rotation_grace"]

_V = TypeVar("_V")

_AUTH_CODES: dict[AuthCode, str] = {
    "InvalidAccessKeyId": "InvalidAccessKeyId",
    "InvalidToken": "InvalidToken",
    "UnsupportedAuthorization": "InvalidRequest",
    "AmbiguousCredential": "InvalidArgument",
}
"""How the S3 listener names each refused Bearer / X-API-Key credential."""


def _invalid_token() -> S3Error:
    """S3's answer to a session token it cannot verify. Every key here is a long-term
    key (the gateway issues no temporary credentials), so no token verifies: one sent
    with a signature is refused, never ignored (S3 would not take the key without it).
    S3 echoes the token as ``Token-0``; a credential is not echoed here."""
    return S3Error("InvalidToken")


def with_rotation_grace(secrets: tuple[str, ...], check: Callable[[str], _V]) -> _V:
    """Verify with the key's current secret, then with the previous one while a rotation
    grace period runs; the last mismatch is raised. No mismatch is kept in a local: this
    frame is on its traceback, and the two would make a reference cycle
    (docs/architecture.md)."""
    for secret in secrets[:-1]:
        try:
            return check(secret)
        except SignatureDoesNotMatch:
            pass
    return check(secrets[-1])  # a key always has a current secret


async def verify_with_key(
    store: IdentityStore, access_key_id: str, now: datetime, check: Callable[[str], _V]
) -> tuple[Principal, _V]:
    """The principal of ``access_key_id`` once ``check`` accepted one of its secrets (the
    current one, or the previous one during a rotation's grace period), and what
    ``check`` returned; ``InvalidAccessKeyId`` for an unknown, revoked or expired key.
    Every signature the S3 listener takes (SigV4 header or query, SigV2 presigned, POST
    form policies) goes through here."""
    found = await store.sigv4_secrets(access_key_id, now)
    if found is None:
        raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": access_key_id})
    key, secrets = found
    result = with_rotation_grace(secrets, check)
    store.record_use(key.id, now)
    return key.principal(), result


async def authenticate_s3(
    signed: SignedRequest,
    headers: Mapping[str, str],
    store: IdentityStore,
    verifier: TokenVerifier | None,
    now: datetime,
    *,
    max_skew: timedelta,
    bucket_path: str = "",
) -> tuple[Principal, VerifiedRequest | None]:
    """The caller and, for SigV4, the verified signature (needed for chunk signatures).
    ``headers`` is ``header_map(signed.headers)`` (the request's one header map).

    ``bucket_path`` (``/bucket``) completes the SigV2 canonical resource of a
    virtual-hosted request, whose path does not name the bucket.
    """
    legacy = parse_presigned_v2(signed)
    if legacy is not None:
        if legacy.security_token is not None:
            raise _invalid_token()
        principal, _ = await verify_with_key(
            store,
            legacy.access_key_id,
            now,
            lambda secret: verify_presigned_v2(
                signed, legacy, secret, now, bucket_path=bucket_path, max_skew=max_skew
            ),
        )
        return principal, None
    auth = parse_auth(signed, headers)
    if auth is not None:
        if auth.security_token is not None:
            raise _invalid_token()
        return await verify_with_key(
            store,
            auth.access_key_id,
            now,
            lambda secret: verify(signed, auth, secret, now, max_skew=max_skew, headers=headers),
        )
    try:
        if len(headers) != len(signed.headers):
            # ``headers`` keeps one value per name: when some header repeats (rare),
            # ``bearer_token`` reads every copy, as on ``/v1`` (``Authorization`` twice was
            # refused by ``parse_auth`` already)
            headers = CIMultiDict(signed.headers)
        token = bearer_token(headers)
        if token is None:
            return ANONYMOUS, None
        return await principal_from_bearer(token, store, verifier, now), None
    except AuthError as exc:
        raise S3Error(_AUTH_CODES[exc.code], exc.message) from exc
