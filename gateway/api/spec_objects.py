"""The OpenAPI description of ``/v1/buckets/{name}/objects...`` (``objects.py``,
``presign.py``). Who may call each operation comes from the route table."""

from __future__ import annotations

from typing import Any

from gateway.api.objects import DEFAULT_PAGE, MAX_KEY_BYTES, MAX_PAGE
from gateway.api.openapi import Fragment, errors, json_body, json_response, ref
from gateway.api.presign import DEFAULT_EXPIRES
from gateway.s3.headers import MAX_SYSTEM_METADATA
from sigv4.auth import MAX_PRESIGN_EXPIRES

__all__ = ["FRAGMENT"]

_TIME = {"type": "string", "format": "date-time"}
_BUCKET = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES}
_KEY = {
    "name": "key",
    "in": "query",
    "required": True,
    "schema": _KEY_SCHEMA,
    "description": (
        f"The object key (1 to {MAX_KEY_BYTES} bytes of UTF-8). In the query rather than "
        "the path, so keys such as `..` or `a//b` survive URL normalisation."
    ),
}

_S: dict[str, Any] = {"type": "string"}


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": _S,
        "description": description,
    }


_IF_MATCH = _header("If-Match", "Proceed only if the current object's ETag is one of these")
_IF_NONE_MATCH = _header("If-None-Match", "Proceed only if no current object's ETag matches")
_WRITE_CONDITIONS = [
    {**_IF_MATCH, "description": "Replace only the current object with this ETag"},
    {**_IF_NONE_MATCH, "description": "`*` only: store only if the key has no object"},
]
_INTEGRITY = [
    _header("Content-MD5", "Base64 MD5 of the body; 400 `BadDigest` when it differs"),
    *(
        _header(
            f"x-amz-checksum-{algorithm}",
            f"Base64 {algorithm.upper()} of the body (one such header), stored with the "
            "object as S3 stores it; 400 `BadDigest` when it differs",
        )
        for algorithm in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
    ),
]
_READ_CONDITIONS = [
    _IF_MATCH,
    _IF_NONE_MATCH,
    _header("If-Modified-Since", "An HTTP date; 304 when not modified since"),
    _header("If-Unmodified-Since", "An HTTP date; 412 when modified since"),
]
_PRECONDITION_FAILED = {
    "description": "`PreconditionFailed`: a condition header did not hold",
    "content": {"application/json": {"schema": ref("Error")}},
}

_SCHEMAS: dict[str, Any] = {
    "Object": {
        "type": "object",
        "required": ["key", "size", "etag", "last_modified"],
        "properties": {
            "key": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "etag": {"type": "string", "description": "Without quotes"},
            "last_modified": _TIME,
        },
    },
    "UploadedObject": {
        "allOf": [
            ref("Object"),
            {
                "type": "object",
                "required": ["content_type"],
                "properties": {"content_type": {"type": "string"}},
            },
        ]
    },
    "ObjectPage": {
        "type": "object",
        "required": ["bucket", "prefix", "delimiter", "objects", "prefixes", "next_cursor"],
        "properties": {
            "bucket": {"type": "string"},
            "prefix": {"type": "string"},
            "delimiter": {"type": ["string", "null"]},
            "objects": {"type": "array", "items": ref("Object")},
            "prefixes": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Common prefixes (folders) rolled up at the delimiter",
            },
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "PresignRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["key"],
        "properties": {
            "key": _KEY_SCHEMA,
            "expires_in": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_PRESIGN_EXPIRES,
                "default": DEFAULT_EXPIRES,
                "description": "Seconds; never past the signing key's own expiry",
            },
        },
    },
    "PresignedUrl": {
        "type": "object",
        "required": ["url", "method", "expires_at", "access_key_id"],
        "properties": {
            "url": {"type": "string", "description": "SigV4 query-signed URL on the S3 port"},
            "method": {"type": "string", "enum": ["GET"]},
            "expires_at": _TIME,
            "access_key_id": {"type": "string", "description": "The key that signed it"},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/v1/buckets/{name}/objects": {
        "parameters": [_BUCKET],
        "get": {
            "operationId": "listObjects",
            "tags": ["objects"],
            "summary": "One page of a bucket's keys, by prefix, rolled up at a delimiter",
            "parameters": [
                {
                    "name": "prefix",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": MAX_KEY_BYTES},
                },
                {
                    "name": "delimiter",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 16},
                    "description": "Usually `/`: keys below the next one become `prefixes`",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE,
                        "default": DEFAULT_PAGE,
                    },
                    "description": "Objects and prefixes together",
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 2048, "pattern": "^[A-Za-z0-9_-]*$"},
                    "description": "`next_cursor` of the previous page",
                },
            ],
            "responses": {
                "200": json_response("One page", ref("ObjectPage")),
                **errors(400, 403, 404, 409, 501, 503),
            },
        },
    },
    "/v1/buckets/{name}/objects/content": {
        "parameters": [_BUCKET, _KEY],
        "put": {
            "operationId": "uploadObject",
            "tags": ["objects"],
            "summary": "Store the request body as the object (streamed; Content-Type kept)",
            "description": (
                "Any `Content-Type` of UTF-8 text is stored with the object, up to "
                f"{MAX_SYSTEM_METADATA} bytes with its name (the S3 listener's bound on "
                "an object's system metadata; more is 400 `ValidationError`). At most "
                "`s3.max_object_size` bytes (5 GiB by default); the object exists only "
                "once the whole body arrived. A `Content-Encoding` other than `identity` "
                "is 415: bodies are not decompressed, and the encoding is not stored. "
                "`Content-MD5`, an `x-amz-checksum-*` header and a hex "
                "`x-amz-content-sha256` are checked as S3 checks them: a body that does "
                "not match is 400 `BadDigest` and nothing is stored. Any other header "
                "S3's PutObject would act on (every other `x-amz-*`: encryption, Object "
                "Lock, metadata, tags, ACLs, ...; `Content-Disposition`, "
                "`Content-Language`, `Expires`, `Content-Range`) is 400 `ValidationError` "
                "naming it in `details.field`, before anything is stored."
            ),
            "requestBody": {
                "required": False,
                "description": "No body stores an empty object, as S3 does",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            "parameters": [*_WRITE_CONDITIONS, *_INTEGRITY],
            "responses": {
                "201": json_response("Stored", ref("UploadedObject")),
                **errors(400, 403, 404, 409, 413, 415, 503),
                "412": _PRECONDITION_FAILED,
                "501": {
                    "description": "`NotImplemented`: the storage backend cannot decide a"
                    " conditional write or delete atomically (nothing is changed)",
                    "content": {"application/json": {"schema": ref("Error")}},
                },
            },
        },
        "get": {
            "operationId": "downloadObject",
            "tags": ["objects"],
            "summary": "The object's bytes, as an attachment",
            "description": "The whole object: `Range` is not supported (ignored, 200).",
            "parameters": _READ_CONDITIONS,
            "responses": {
                "200": {
                    "description": "The bytes, with the object's Content-Type",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                **errors(400, 403, 404, 409, 503),
                "412": _PRECONDITION_FAILED,
            },
        },
        "delete": {
            "operationId": "deleteObject",
            "tags": ["objects"],
            "summary": "Delete the object (idempotent, as S3)",
            "parameters": [
                {**_IF_MATCH, "description": "Delete only the current object with this ETag"}
            ],
            "responses": {
                "204": {"description": "Deleted"},
                **errors(400, 403, 404, 409, 503),
                "412": _PRECONDITION_FAILED,
                "501": {
                    "description": "`NotImplemented`: the storage backend cannot decide a"
                    " conditional write or delete atomically (nothing is changed)",
                    "content": {"application/json": {"schema": ref("Error")}},
                },
            },
        },
    },
    "/v1/buckets/{name}/objects/presign": {
        "parameters": [_BUCKET],
        "post": {
            "operationId": "presignObject",
            "tags": ["objects"],
            "summary": "A presigned GET URL for the S3 endpoint, signed with the caller's key",
            "description": (
                "Only for callers authenticated with an access key: the URL is signed with "
                "that key and acts with its rights. An OAuth token gets 403 `AccessDenied` "
                "with `details.required_credential = access_key`."
            ),
            "requestBody": json_body(ref("PresignRequest")),
            "responses": {
                "200": json_response("The URL", ref("PresignedUrl")),
                **errors(400, 404, 413, 415),
            },
        },
    },
}

FRAGMENT = Fragment(
    paths=_PATHS,
    schemas=_SCHEMAS,
    tags=({"name": "objects", "description": "A bucket's objects, for the web console"},),
)
