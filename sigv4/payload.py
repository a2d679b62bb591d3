"""The sans-I/O body pipeline: every PUT/POST body goes through one of these.

Everything is decided from the request headers (never from ``Content-Encoding``):

* ``x-amz-content-sha256`` picks the payload mode; ``STREAMING-*`` modes are aws-chunked
  and decoded here (``x-amz-decoded-content-length`` required), chunk and trailer
  signatures verified for the signed modes;
* a hex SHA-256 is checked against the payload at the end (XAmzContentSHA256Mismatch);
* ``x-amz-checksum-<alg>`` header, or the trailer named by ``x-amz-trailer``, is
  checked at the end (BadDigest); the two together are InvalidRequest, and
  ``x-amz-sdk-checksum-algorithm`` must agree with whichever is present;

``Content-MD5`` is not a SigV4 matter and is not handled here: the server parses it once
and compares it where the body is hashed anyway.

When a verified SigV4 request signed a payload hash or a streaming mode, that signed
decision wins over the header (they are the same value for header auth). Without a
header the payload is UNSIGNED.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sigv4.auth import VerifiedRequest
from sigv4.checksums import (
    ALGORITHMS,
    CHECKSUM_HEADER_NAMES,
    CHECKSUM_HEADERS,
    Checksum,
    header_name,
    new_checksum,
    normalize_algorithm,
    parse_checksum_value,
)
from sigv4.chunked import ChunkDecoder, ChunkSigner
from sigv4.errors import (
    BadDigest,
    InvalidArgument,
    InvalidRequest,
    MalformedTrailerError,
    MissingContentLength,
    XAmzContentSHA256Mismatch,
)
from sigv4.modes import PayloadMode, payload_mode
from sigv4.records import record

__all__ = ["PayloadPipeline", "PayloadPlan", "plan_payload"]

_CHECKSUM_PREFIX = "x-amz-checksum-"
_CHECKSUM_FAMILY = CHECKSUM_HEADER_NAMES | {
    "x-amz-checksum-algorithm",
    "x-amz-checksum-type",
    "x-amz-checksum-mode",
}
"""Every ``x-amz-checksum-*`` header S3 knows: one outside it names an algorithm nobody
could verify here (``x-amz-checksum-blake3``) and is refused, not ignored."""


@record
class PayloadPlan:
    """What the headers ask of the body, decided before the first byte arrives."""

    mode: PayloadMode
    sha256: str | None
    decoded_length: int | None
    checksum_algorithm: str | None
    checksum_value: str | None  # from the header; None when it comes in the trailer
    checksum_in_trailer: bool
    trailers: frozenset[str]


def _resolve_mode(
    values: Mapping[str, str], verified: VerifiedRequest | None
) -> tuple[PayloadMode, str | None]:
    """The body's mode: what a verified signature covered wins; a request whose
    signature left the payload unsigned (presigned URLs) or that was not SigV4-signed
    says it in ``x-amz-content-sha256``, read with the same parser the verifier uses."""
    if verified is not None and verified.payload_mode is not PayloadMode.UNSIGNED:
        return verified.payload_mode, verified.payload_hash
    header = values.get("x-amz-content-sha256")
    mode = payload_mode(header)
    return mode, header.lower() if mode is PayloadMode.SHA256 and header else None


def _decoded_length(values: Mapping[str, str]) -> int:
    text = values.get("x-amz-decoded-content-length")
    if text is None:
        raise MissingContentLength(
            "You must provide the x-amz-decoded-content-length header with aws-chunked uploads."
        )
    # A 64-bit integer, as S3 reads it (int() of 5,000 digits would fail).
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > 18:
        raise InvalidArgument(
            "x-amz-decoded-content-length must be a non-negative integer",
            extra={"ArgumentName": "x-amz-decoded-content-length", "ArgumentValue": text},
        )
    return int(text)


def _trailer_names(values: Mapping[str, str], mode: PayloadMode) -> frozenset[str]:
    text = values.get("x-amz-trailer")
    if text is None:
        return frozenset()
    names = frozenset(n.strip().lower() for n in text.split(",") if n.strip())
    if names and not mode.has_trailer:
        raise InvalidRequest(
            "x-amz-trailer requires x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER "
            "or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        )
    unknown = names - CHECKSUM_HEADERS.keys()
    if unknown:
        raise InvalidRequest(f"Unsupported trailing header {', '.join(sorted(unknown))}")
    if len(names) > 1:
        raise InvalidRequest("Expecting a single x-amz-checksum- trailer")
    return names


def plan_payload(
    values: Mapping[str, str],
    verified: VerifiedRequest | None,
    *,
    allow_streaming: bool,
) -> PayloadPlan:
    """Validate the body-related headers and decide how the body will be checked.

    ``values`` maps lower-case header names to their first value
    (:func:`sigv4.request.header_map`).
    """
    mode, sha256 = _resolve_mode(values, verified)
    if mode.is_streaming and not allow_streaming:
        raise InvalidRequest(
            "Streaming (aws-chunked) payloads are not supported for this operation"
        )
    if mode.has_chunk_signatures and verified is None:
        raise InvalidRequest("A signed streaming payload requires AWS Signature Version 4")
    decoded_length = _decoded_length(values) if mode.is_streaming else None

    for name in values:
        # a plain loop over the request's ~10 names (no frame per call on 3.11)
        if name.startswith(_CHECKSUM_PREFIX) and name not in _CHECKSUM_FAMILY:
            raise InvalidRequest(
                f"{name} names a checksum algorithm that is not supported; use one of "
                f"{', '.join(ALGORITHMS)}"
            )
    trailers = _trailer_names(values, mode)
    # One set operation in C over the request's headers, whatever the number of
    # algorithms: a body without a checksum header pays no Python loop per algorithm.
    in_header = CHECKSUM_HEADER_NAMES.intersection(values)
    if len(in_header) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    if in_header and trailers:
        raise InvalidRequest("x-amz-trailer and an x-amz-checksum- header cannot be used together")
    algorithm: str | None = None
    value: str | None = None
    if in_header:
        name = next(iter(in_header))
        algorithm = CHECKSUM_HEADERS[name]
        value = parse_checksum_value(algorithm, values[name])
    elif trailers:
        algorithm = CHECKSUM_HEADERS[next(iter(trailers))]

    sdk_algorithm = values.get("x-amz-sdk-checksum-algorithm")
    if sdk_algorithm is not None and normalize_algorithm(sdk_algorithm) != algorithm:
        if algorithm is None:
            raise InvalidRequest(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                "x-amz-checksum-* or x-amz-trailer headers were found."
            )
        raise InvalidRequest(
            f"Value for x-amz-sdk-checksum-algorithm header is invalid: {sdk_algorithm} "
            f"does not match the {algorithm} checksum sent."
        )

    return PayloadPlan(
        mode=mode,
        sha256=sha256,
        decoded_length=decoded_length,
        checksum_algorithm=algorithm,
        checksum_value=value,
        checksum_in_trailer=bool(trailers),
        trailers=trailers,
    )


class PayloadPipeline:
    """Wire bytes in, payload bytes out; every check of the body raised by the end."""

    __slots__ = (
        "_checksum",
        "_checksums",
        "_decoder",
        "_finished",
        "_hashers",
        "_sha256",
        "plan",
    )

    def __init__(
        self,
        plan: PayloadPlan,
        verified: VerifiedRequest | None,
    ) -> None:
        self.plan = plan
        self._decoder: ChunkDecoder | None = None
        if plan.mode.is_streaming:
            signer = None
            if plan.mode.has_chunk_signatures:
                assert verified is not None
                signer = ChunkSigner(
                    signing_key=verified.signing_key,
                    amz_date=verified.amz_date,
                    scope=verified.scope,
                    seed_signature=verified.seed_signature,
                )
            assert plan.decoded_length is not None
            self._decoder = ChunkDecoder(
                decoded_length=plan.decoded_length,
                signer=signer,
                trailer_mode=plan.mode.has_trailer,
                expected_trailers=plan.trailers,
            )
        self._sha256 = hashlib.sha256() if plan.sha256 is not None else None
        self._checksum: Checksum | None = (
            new_checksum(plan.checksum_algorithm) if plan.checksum_algorithm else None
        )
        self._hashers: tuple[Checksum | hashlib._Hash, ...] = tuple(
            h for h in (self._sha256, self._checksum) if h is not None
        )
        self._checksums: dict[str, str] = {}
        self._finished = False

    @classmethod
    def create(
        cls,
        values: Mapping[str, str],
        verified: VerifiedRequest | None,
        *,
        allow_streaming: bool,
    ) -> PayloadPipeline:
        """Validate the headers (raising S3 errors) and build the pipeline; ``values`` as
        for :func:`plan_payload`."""
        plan = plan_payload(values, verified, allow_streaming=allow_streaming)
        return cls(plan, verified)

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Raw wire bytes in, payload bytes out (``b""`` while a chunk header is partial)."""
        if isinstance(data, memoryview):
            data = data.tobytes()
        if self._decoder is None:
            for hasher in self._hashers:
                hasher.update(data)
            return bytes(data)
        pieces = self._decoder.feed(data)
        if not pieces:
            return b""
        hashers = self._hashers
        for piece in pieces:
            for hasher in hashers:
                hasher.update(piece)
        if len(pieces) == 1:
            return pieces[0].tobytes()
        return b"".join(pieces)

    def finish(self) -> None:
        """The wire body ended: raise the first failed check (IncompleteBody, BadDigest, ...)."""
        if self._finished:
            return
        plan = self.plan
        if self._decoder is not None:
            self._decoder.finish()
        if self._sha256 is not None and plan.sha256 is not None:
            computed = self._sha256.hexdigest()
            if computed != plan.sha256:
                raise XAmzContentSHA256Mismatch(
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    extra={
                        "ClientComputedContentSHA256": plan.sha256,
                        "S3ComputedContentSHA256": computed,
                    },
                )
        if self._checksum is not None and plan.checksum_algorithm is not None:
            expected = plan.checksum_value
            if plan.checksum_in_trailer:
                assert self._decoder is not None
                sent = self._decoder.trailers.get(header_name(plan.checksum_algorithm))
                if sent is None:
                    raise MalformedTrailerError(
                        f"Missing trailer {header_name(plan.checksum_algorithm)}"
                    )
                expected = parse_checksum_value(plan.checksum_algorithm, sent)
            computed_b64 = self._checksum.b64digest()
            if computed_b64 != expected:
                raise BadDigest(
                    f"The {plan.checksum_algorithm} you specified did not match the "
                    "calculated checksum."
                )
            self._checksums[plan.checksum_algorithm] = computed_b64
        self._finished = True

    @property
    def checksums(self) -> dict[str, str]:
        """Algorithm (upper-case) -> base64 value of every checksum verified; after finish()."""
        return dict(self._checksums)

    @property
    def decoded_length(self) -> int | None:
        """x-amz-decoded-content-length for the streaming modes, else None."""
        return self.plan.decoded_length

    @property
    def payload_mode(self) -> PayloadMode:
        return self.plan.mode
