"""Who sent a POST Object form: its signature fields, not its HTTP headers.

A browser form authenticates with fields: SigV4 (``x-amz-algorithm``,
``x-amz-credential``, ``x-amz-date``, ``x-amz-signature`` and ``policy``) or, for older
tools, SigV2 (``AWSAccessKeyId``, ``signature``, ``policy``). A form with neither is
anonymous and succeeds only where the bucket's ACL or policy lets anyone write. The
request's own ``Authorization`` header, like every other unsigned HTTP header, is
ignored (AWS authenticates POST uploads by the form alone). A ``policy`` without a
signature is refused: an unsigned policy would bind nothing.

The key's scopes and bucket limits then apply as to any request (``s3:PutObject`` through
the one access decision): a policy can narrow what a key may upload, never widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.identity.store import IdentityStore
from gateway.principal import ANONYMOUS, Principal
from gateway.s3.authn import verify_with_key
from gateway.s3.errors import S3Error
from sigv4 import parse_post_credential, verify_post_v2, verify_post_v4

__all__ = ["EXEMPT_ANONYMOUS", "EXEMPT_V2", "EXEMPT_V4", "authenticate_form", "carries_signature"]

_V4 = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_V2 = ("awsaccesskeyid", "signature")
EXEMPT_V4 = frozenset({"policy", "file", "x-amz-signature"})
"""Fields no policy condition has to name (AWS's list for SigV4 forms)."""
EXEMPT_V2 = frozenset({"policy", "file", "signature", "awsaccesskeyid"})
EXEMPT_ANONYMOUS = frozenset({"policy", "file"})


def _missing(name: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
        "the order of the fields.",
        extra={"ArgumentName": name, "ArgumentValue": ""},
    )


def carries_signature(fields: Mapping[str, str]) -> bool:
    return any(name in fields for name in (*_V4, *_V2))


def _require(fields: Mapping[str, str], names: tuple[str, ...]) -> None:
    for name in names:
        if name not in fields:
            raise _missing(name)


async def authenticate_form(
    fields: Mapping[str, str], store: IdentityStore, now: datetime
) -> tuple[Principal, frozenset[str]]:
    """The form's principal and the fields its policy need not name."""
    if fields.get("x-amz-security-token") and carries_signature(fields):
        # Every key here is long-term: a session token cannot verify (``authn.py``). An
        # empty field is no token (boto3's presigned POST with aws_session_token="").
        raise S3Error("InvalidToken")
    if any(name in fields for name in _V4):
        _require(fields, (*_V4, "policy"))
        credential = parse_post_credential(
            fields["x-amz-algorithm"], fields["x-amz-credential"], fields["x-amz-date"]
        )
        principal, _ = await verify_with_key(
            store,
            credential.access_key_id,
            now,
            lambda secret: verify_post_v4(
                fields["policy"], fields["x-amz-signature"], credential, secret
            ),
        )
        return principal, EXEMPT_V4
    if any(name in fields for name in _V2):
        _require(fields, (*_V2, "policy"))
        access_key_id = fields["awsaccesskeyid"]
        principal, _ = await verify_with_key(
            store,
            access_key_id,
            now,
            lambda secret: verify_post_v2(
                fields["policy"], fields["signature"], access_key_id, secret
            ),
        )
        return principal, EXEMPT_V2
    if "policy" in fields:
        raise _missing("x-amz-signature")
    return ANONYMOUS, EXEMPT_ANONYMOUS
