"""Authentication on the S3 listener: SigV4 (header or presigned), Bearer, X-API-Key."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.auth.bearer import principal_from_bearer
from gateway.auth.credentials import bearer_token
from gateway.auth.errors import AuthCode, AuthError
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.identity.store import IdentityStore
from gateway.s3.errors import S3Error
from gateway.state import TokenVerifier
from sigv4 import (
    SignatureDoesNotMatch,
    SignedRequest,
    VerifiedRequest,
    parse_auth,
    parse_presigned_v2,
    verify,
    verify_presigned_v2,
)

_AUTH_CODES: dict[AuthCode, str] = {
    "InvalidAccessKeyId": "InvalidAccessKeyId",
    "InvalidToken": "InvalidToken",
    "UnsupportedAuthorization": "InvalidRequest",
}
"""How the S3 listener names each refused Bearer / X-API-Key credential."""


async def authenticate(
    signed: SignedRequest,
    headers: dict[str, str],
    store: IdentityStore,
    verifier: TokenVerifier | None,
    now: datetime,
    *,
    max_skew: timedelta,
    bucket_path: str = "",
) -> tuple[Principal, VerifiedRequest | None]:
    """The caller and, for SigV4, the verified signature (needed for chunk signatures).

    ``bucket_path`` (``/bucket``) completes the SigV2 canonical resource of a
    virtual-hosted request, whose path does not name the bucket.
    """
    legacy = parse_presigned_v2(signed)
    if legacy is not None:
        found = store.sigv4_secrets(legacy.access_key_id, now)
        if found is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": legacy.access_key_id})
        key, secrets = found
        for index, secret in enumerate(secrets):
            try:
                verify_presigned_v2(signed, legacy, secret, now, bucket_path=bucket_path)
            except SignatureDoesNotMatch:
                if index == len(secrets) - 1:
                    raise
                continue
            store.record_use(key.id, now)
            return key.principal(), None
    auth = parse_auth(signed)
    if auth is not None:
        found = store.sigv4_secrets(auth.access_key_id, now)
        if found is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": auth.access_key_id})
        key, secrets = found
        failure: SignatureDoesNotMatch | None = None
        for secret in secrets:
            try:
                verified = verify(signed, auth, secret, now, max_skew=max_skew)
            except SignatureDoesNotMatch as exc:
                failure = exc
                continue
            store.record_use(key.id, now)
            return key.principal(), verified
        assert failure is not None
        raise failure
    try:
        token = bearer_token(headers)
        if token is None:
            return ANONYMOUS, None
        return await principal_from_bearer(token, store, verifier, now), None
    except AuthError as exc:
        raise S3Error(_AUTH_CODES[exc.code], exc.message) from exc
