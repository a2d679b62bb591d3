"""Payload modes: what ``x-amz-content-sha256`` says about the body."""

from __future__ import annotations

import enum
import re

from sigv4.errors import InvalidArgument, InvalidRequest
from sigv4.signing import EMPTY_SHA256

__all__ = [
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "PayloadMode",
    "payload_mode",
]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class PayloadMode(enum.Enum):
    SHA256 = "sha256"
    UNSIGNED = "unsigned"
    STREAMING_SIGNED = "streaming-signed"
    STREAMING_SIGNED_TRAILER = "streaming-signed-trailer"
    STREAMING_UNSIGNED_TRAILER = "streaming-unsigned-trailer"

    @property
    def is_streaming(self) -> bool:
        """True for the aws-chunked modes."""
        return self.name.startswith("STREAMING")

    @property
    def has_chunk_signatures(self) -> bool:
        return self in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)

    @property
    def has_trailer(self) -> bool:
        return self in (
            PayloadMode.STREAMING_SIGNED_TRAILER,
            PayloadMode.STREAMING_UNSIGNED_TRAILER,
        )


_NAMED = {
    # The empty body's hash: every GET, HEAD and DELETE of a signing SDK sends it, and a
    # dict hit costs less than the expression below (which gives SHA256 for it too).
    EMPTY_SHA256: PayloadMode.SHA256,
    UNSIGNED_PAYLOAD: PayloadMode.UNSIGNED,
    STREAMING_SIGNED: PayloadMode.STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER: PayloadMode.STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER: PayloadMode.STREAMING_UNSIGNED_TRAILER,
}


def payload_mode(x_amz_content_sha256: str | None) -> PayloadMode:
    """The payload mode named by an ``x-amz-content-sha256`` value.

    ``None`` (header absent) is UNSIGNED: that is the mode of a request that is not
    SigV4-signed at all (Bearer / API key). For SigV4 header auth an absent header means
    the empty-body hash instead; :func:`sigv4.auth.parse_auth` applies that rule.
    SigV4a streaming (ECDSA) is refused with InvalidRequest; any other value is
    InvalidArgument.
    """
    if x_amz_content_sha256 is None:
        return PayloadMode.UNSIGNED
    named = _NAMED.get(x_amz_content_sha256)
    if named is not None:
        return named
    if _HEX_SHA256.fullmatch(x_amz_content_sha256):
        return PayloadMode.SHA256
    if x_amz_content_sha256.startswith("STREAMING-AWS4-ECDSA-P256-SHA256"):
        raise InvalidRequest("SigV4a (AWS4-ECDSA-P256-SHA256) payload signing is not supported")
    raise InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER "
        "or a valid sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": x_amz_content_sha256},
    )
