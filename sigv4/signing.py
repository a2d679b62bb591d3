"""Tasks 2 and 3 of SigV4: the string to sign, the signing key and the signature.

Also the string-to-sign forms of aws-chunked uploads (one per chunk, one for trailers).
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "chunk_string_to_sign",
    "hmac_states",
    "scope",
    "sign",
    "signing_key",
    "string_to_sign",
    "trailer_string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def scope(date: str, region: str, service: str) -> str:
    """The credential scope ``date/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, credential_scope: str, canonical_request: str) -> str:
    """Task 2: ``AWS4-HMAC-SHA256\\n<amz_date>\\n<scope>\\n<hex sha256(creq)>``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{credential_scope}\n{digest}"


@lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Task 3: the derived key, cached per (secret, date, region, service)."""
    k_date = _hmac(f"AWS4{secret}".encode(), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


_BLOCK = 64  # SHA-256's block size: HMAC pads its key to it


@lru_cache(maxsize=4096)
def hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer SHA-256 states once they absorbed ``key`` (RFC 2104;
    as many as ``signing_key`` keeps): each signature copies them instead of hashing the
    key again. Two ``hashlib`` states copied cost less than ``hmac.HMAC.copy``, whose
    Python wrapper was most of a signature's time (1.7 -> 0.9 us a signature). Shared:
    callers copy them, never update them."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))
    return inner, outer


def sign(key: bytes, string: str) -> str:
    """The hex HMAC-SHA256 signature of ``string`` under the signing ``key``."""
    inner_state, outer_state = hmac_states(key)
    inner = inner_state.copy()
    inner.update(string.encode("utf-8"))
    outer = outer_state.copy()
    outer.update(inner.digest())
    return outer.hexdigest()


def chunk_string_to_sign(
    amz_date: str, credential_scope: str, previous_signature: str, chunk_sha256: str
) -> str:
    """The string to sign of one aws-chunked data chunk (``AWS4-HMAC-SHA256-PAYLOAD``)."""
    return (
        f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{credential_scope}\n"
        f"{previous_signature}\n{EMPTY_SHA256}\n{chunk_sha256}"
    )


def trailer_string_to_sign(
    amz_date: str, credential_scope: str, previous_signature: str, trailer_sha256: str
) -> str:
    """The string to sign of the trailing headers (``AWS4-HMAC-SHA256-TRAILER``).

    ``trailer_sha256`` is the hex SHA-256 of the trailers in canonical form, each
    ``lower(name):trimmed value\\n``, in the order sent.
    """
    return (
        f"{ALGORITHM}-TRAILER\n{amz_date}\n{credential_scope}\n"
        f"{previous_signature}\n{trailer_sha256}"
    )
