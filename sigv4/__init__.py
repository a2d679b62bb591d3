"""Pure AWS Signature Version 4 verification for S3: no I/O, the clock is a parameter.

Typical use by a server::

    auth = parse_auth(request)              # None: not SigV4 at all
    secret = lookup(auth.access_key_id)     # the caller's key store
    verified = verify(request, auth, secret, now)
    body = PayloadPipeline.create(request.headers, verified, allow_streaming=True)
    for piece in wire: store(body.feed(piece))
    body.finish()                           # only now may the object be committed
"""

from sigv4.auth import MAX_PRESIGN_EXPIRES, AuthInfo, VerifiedRequest, parse_auth, verify
from sigv4.canonical import (
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    uri_encode,
)
from sigv4.checksums import (
    ALGORITHMS,
    CHECKSUM_HEADER_NAMES,
    CHECKSUM_HEADERS,
    CHECKSUM_MEMBERS,
    CRC_ALGORITHMS,
    DIGEST_SIZES,
    Checksum,
    combine_crc,
    header_name,
    new_checksum,
    parse_checksum_value,
    parse_content_md5,
)
from sigv4.chunked import (
    MAX_TRAILER_BYTES,
    MAX_TRAILERS,
    MIN_CHUNK_SIZE,
    ChunkDecoder,
    ChunkSigner,
)
from sigv4.coverage import UNSIGNED_ALLOWED, check_signed_headers, unsigned_amz_headers
from sigv4.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    InvalidChunkSizeError,
    InvalidDigest,
    InvalidRequest,
    InvalidURI,
    MalformedTrailerError,
    MissingContentLength,
    MissingSecurityHeader,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SigV4Error,
    XAmzContentSHA256Mismatch,
)
from sigv4.modes import PayloadMode, payload_mode
from sigv4.payload import PayloadPipeline, PayloadPlan, plan_payload
from sigv4.post_policy import (
    PostCredential,
    parse_post_credential,
    verify_post_v2,
    verify_post_v4,
)
from sigv4.presign_v2 import PresignedV2, parse_presigned_v2, verify_presigned_v2
from sigv4.request import (
    SignedRequest,
    decode_query,
    get_header,
    header_map,
    repeated_header,
)
from sigv4.signing import (
    EMPTY_SHA256,
    chunk_string_to_sign,
    scope,
    sign,
    signing_key,
    string_to_sign,
    trailer_string_to_sign,
)

__all__ = [
    "ALGORITHMS",
    "CHECKSUM_HEADERS",
    "CHECKSUM_HEADER_NAMES",
    "CHECKSUM_MEMBERS",
    "CRC_ALGORITHMS",
    "DIGEST_SIZES",
    "EMPTY_SHA256",
    "MAX_PRESIGN_EXPIRES",
    "MAX_TRAILERS",
    "MAX_TRAILER_BYTES",
    "MIN_CHUNK_SIZE",
    "UNSIGNED_ALLOWED",
    "AccessDenied",
    "AuthInfo",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "BadDigest",
    "Checksum",
    "ChunkDecoder",
    "ChunkSigner",
    "IncompleteBody",
    "InvalidArgument",
    "InvalidChunkSizeError",
    "InvalidDigest",
    "InvalidRequest",
    "InvalidURI",
    "MalformedTrailerError",
    "MissingContentLength",
    "MissingSecurityHeader",
    "PayloadMode",
    "PayloadPipeline",
    "PayloadPlan",
    "PostCredential",
    "PresignedV2",
    "RequestTimeTooSkewed",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "SignedRequest",
    "VerifiedRequest",
    "XAmzContentSHA256Mismatch",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "check_signed_headers",
    "chunk_string_to_sign",
    "combine_crc",
    "decode_query",
    "get_header",
    "header_map",
    "header_name",
    "new_checksum",
    "parse_auth",
    "parse_checksum_value",
    "parse_content_md5",
    "parse_post_credential",
    "parse_presigned_v2",
    "payload_mode",
    "plan_payload",
    "repeated_header",
    "scope",
    "sign",
    "signing_key",
    "string_to_sign",
    "trailer_string_to_sign",
    "unsigned_amz_headers",
    "uri_encode",
    "verify",
    "verify_post_v2",
    "verify_post_v4",
    "verify_presigned_v2",
]
