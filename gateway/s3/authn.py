"""Authentication on the S3 listener: SigV4 (header or presigned), Bearer, X-API-Key."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.auth.bearer import principal_from_bearer
from gateway.auth.errors import AuthError
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
    token = None
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise S3Error(
                "InvalidRequest",
                "Unsupported Authorization type; use AWS Signature Version 4 or Bearer",
                status=400,
            )
        token = value
    elif "x-api-key" in headers:
        token = headers["x-api-key"]
    if token is None:
        return ANONYMOUS, None
    try:
        return await principal_from_bearer(token, store, verifier, now), None
    except AuthError as exc:
        code = (
            exc.s3_code
            if exc.s3_code in {"InvalidAccessKeyId", "ExpiredToken"}
            else ("InvalidToken" if exc.s3_code == "InvalidToken" else "AccessDenied")
        )
        raise S3Error(code, exc.message, status=403) from exc
