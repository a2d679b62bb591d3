"""Signatures of browser-based POST uploads: what signs a POST policy document.

A POST form carries a base64 policy document and its signature instead of a signed
request. With Signature Version 4 (``x-amz-algorithm: AWS4-HMAC-SHA256``) the signature
is the hex HMAC-SHA256 of the base64 text under the signing key of the form's
``x-amz-credential`` scope; with SigV2 (``AWSAccessKeyId`` + ``signature``) it is the
base64 HMAC-SHA1 of the same text under the secret itself. Only the policy is signed:
the form's other fields are bound by the policy's conditions, which the server checks.

:func:`parse_post_credential` needs no secret (it names the key to look up);
:func:`verify_post_v4` / :func:`verify_post_v2` then compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sigv4.auth import _parse_amz_date, _parse_credential
from sigv4.errors import InvalidArgument, SignatureDoesNotMatch
from sigv4.signing import ALGORITHM, sign, signing_key

__all__ = ["PostCredential", "parse_post_credential", "verify_post_v2", "verify_post_v4"]

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@dataclass(frozen=True, slots=True)
class PostCredential:
    """The ``x-amz-credential`` / ``x-amz-algorithm`` / ``x-amz-date`` fields, parsed."""

    access_key_id: str
    date: str
    region: str
    service: str


def parse_post_credential(
    algorithm: str, credential: str, amz_date: str, *, service: str = "s3"
) -> PostCredential:
    """``InvalidArgument`` for an algorithm other than ``AWS4-HMAC-SHA256``, a malformed
    credential, an ``x-amz-date`` not in ISO 8601 basic form, or a credential scope that
    header auth would refuse (:func:`sigv4.verify`): another service than ``service``, or
    a date other than ``x-amz-date``'s (a signing key is only good for the day it names)."""
    if algorithm != ALGORITHM:
        raise InvalidArgument(
            f"Only the {ALGORITHM} algorithm is supported for POST policies, not {algorithm!r}",
            extra={"ArgumentName": "x-amz-algorithm", "ArgumentValue": algorithm},
        )
    access_key_id, date, region, scope_service = _parse_credential(credential, InvalidArgument)
    _parse_amz_date(amz_date, InvalidArgument)
    if scope_service != service:
        raise InvalidArgument(
            f"The credential is scoped to the service {scope_service!r}; this endpoint "
            f"belongs to {service!r}",
            extra={"ArgumentName": "x-amz-credential"},
        )
    if date != amz_date[:8]:
        raise InvalidArgument(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
            extra={"ArgumentName": "x-amz-credential", "X-Amz-Date": amz_date},
        )
    return PostCredential(access_key_id, date, region, scope_service)


def verify_post_v4(policy: str, signature: str, credential: PostCredential, secret: str) -> None:
    """``SignatureDoesNotMatch`` unless ``signature`` signs ``policy`` (the base64 text
    as sent) with ``secret`` in the credential's scope. The signature is lower-case hex,
    as AWS computes and compares it (and as header SigV4 requires): upper case does not
    match."""
    key = signing_key(secret, credential.date, credential.region, credential.service)
    expected = sign(key, policy)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise SignatureDoesNotMatch(
            _MISMATCH,
            extra={"AWSAccessKeyId": credential.access_key_id, "StringToSign": policy},
            string_to_sign=policy,
        )


def verify_post_v2(policy: str, signature: str, access_key_id: str, secret: str) -> None:
    """The SigV2 form: base64 HMAC-SHA1 of the policy text under the secret."""
    digest = hmac.new(secret.encode("utf-8"), policy.encode("utf-8"), hashlib.sha1).digest()
    expected = base64.b64encode(digest)
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise SignatureDoesNotMatch(
            _MISMATCH,
            extra={"AWSAccessKeyId": access_key_id, "StringToSign": policy},
            string_to_sign=policy,
        )
