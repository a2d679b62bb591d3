"""The OpenAPI description of ``/v1/access-keys``, ``/v1/buckets`` and ``/v1/me``.

Kept beside the handlers' rules: ``gateway/api/access_keys.py``, ``buckets.py``, ``me.py``,
``validation.py`` and ``key_policy.py``. Who may call each operation comes from the route
table (``gateway/api/routes.py``), not from here. ``tests/e2e/test_openapi.py`` runs schemathesis
against the live server so a difference fails the build.
"""

from __future__ import annotations

from typing import Any

from gateway.api.access_keys import DEFAULT_PAGE, MAX_GRACE_SECONDS, MAX_NAME, MAX_PAGE
from gateway.api.openapi import NAME_RULES, Fragment, errors, json_body, json_response, ref
from gateway.api.spec_ops import RATE_LIMIT_FIELD
from gateway.scopes import ALL_SCOPES

__all__ = ["FRAGMENT"]

_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_SCOPE = {"type": "string", "enum": sorted(ALL_SCOPES)}
# A bucket name or fnmatch pattern (key_rules.validate_buckets: brackets closed, not empty).
_BUCKET_PATTERN = {
    "type": "string",
    "minLength": 1,
    "maxLength": 63,
    "pattern": r"^(?:[a-z0-9.\-*?]|\[!?(?:[a-z0-9.](?:-[a-z0-9.])?|-)+\])+$",
}
# Key names: 1-128 characters, no control characters, not blank (keys.validate_name).
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    "description": NAME_RULES,
}

_SCHEMAS: dict[str, Any] = {
    "AccessKey": {
        "type": "object",
        "required": [
            "id",
            "access_key_id",
            "name",
            "scopes",
            "buckets",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "owner",
            "account_id",
            "root",
            "status",
        ],
        "properties": {
            "id": {"type": "string", "description": "Also the AWS access key id"},
            "access_key_id": {"type": "string"},
            "name": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "buckets": {
                "type": ["array", "null"],
                "items": {"type": "string"},
                "description": "Bucket names or * patterns; null: every bucket",
            },
            "created_at": _TIME,
            "expires_at": _NULLABLE_TIME,
            "last_used_at": {**_NULLABLE_TIME, "description": "Updated in batches"},
            "revoked_at": _NULLABLE_TIME,
            "owner": {"type": ["string", "null"], "description": "Creator key id or user"},
            "account_id": {"type": "string", "description": "The account the key acts for"},
            "root": {"type": "boolean", "description": "The environment's bootstrap key"},
            "status": {"type": "string", "enum": ["active", "revoked", "expired"]},
            "rate_limit": RATE_LIMIT_FIELD,
        },
    },
    "AccessKeyWithSecret": {
        "allOf": [
            ref("AccessKey"),
            {
                "type": "object",
                "required": ["secret", "secret_access_key"],
                "properties": {
                    "secret": {"type": "string", "description": "Shown only in this response"},
                    "secret_access_key": {"type": "string", "description": "Same as secret"},
                    "previous_secret_expires_at": {
                        **_NULLABLE_TIME,
                        "description": "Rotation: end of the old secret's grace period",
                    },
                },
            },
        ]
    },
    "NewAccessKey": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "scopes"],
        "properties": {
            "name": _NAME,
            "scopes": {"type": "array", "minItems": 1, "uniqueItems": True, "items": _SCOPE},
            "expires_at": {
                **_NULLABLE_TIME,
                "description": (
                    "RFC 3339 with a time zone, in the future, within the year 9999 in UTC;"
                    " at most the creating credential's own end (null or omitted: that end,"
                    " or never for a credential that never ends)"
                ),
            },
            "buckets": {
                "type": ["array", "null"],
                "minItems": 1,
                "maxItems": 100,
                "uniqueItems": True,
                "items": _BUCKET_PATTERN,
                "description": "Omitted or null: every bucket (or the creator's own limits)",
            },
            "rate_limit": RATE_LIMIT_FIELD,
        },
    },
    "AccessKeyPage": {
        "type": "object",
        "required": ["access_keys", "next_cursor"],
        "properties": {
            "access_keys": {"type": "array", "items": ref("AccessKey")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Bucket": {
        "type": "object",
        "required": ["name", "created_at", "region"],
        "properties": {
            "name": {"type": "string"},
            "created_at": _TIME,
            "region": {"type": "string"},
            "versioning": {
                "type": ["string", "null"],
                "enum": ["Enabled", "Suspended", None],
                "description": (
                    "S3 versioning state; null: never versioned. Absent where the bucket "
                    "policy refuses the caller s3:GetBucketVersioning"
                ),
            },
            "object_count": {
                "type": "integer",
                "minimum": 0,
                "description": "With stats=true, where the caller may s3:ListBucket",
            },
            "size_bytes": {"type": "integer", "minimum": 0},
        },
    },
    "NewBucket": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$"},
            "versioning": {
                "type": ["boolean", "null"],
                "description": "true: create the bucket with S3 versioning enabled",
            },
        },
    },
    "Me": {
        "type": "object",
        "required": [
            "kind",
            "subject",
            "key_id",
            "client_id",
            "scopes",
            "buckets",
            "expires_at",
            "name",
            "account",
            "root",
        ],
        "properties": {
            "kind": {"type": "string", "enum": ["key", "user", "client"]},
            "subject": {"type": "string"},
            "key_id": {"type": ["string", "null"]},
            "client_id": {"type": ["string", "null"]},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "buckets": {"type": ["array", "null"], "items": {"type": "string"}},
            "expires_at": _NULLABLE_TIME,
            "name": {
                "type": ["string", "null"],
                "description": "The key's name, or the user's username",
            },
            "account": {
                "type": "object",
                "required": ["id", "name", "canonical_id", "display_name"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": ["string", "null"]},
                    "canonical_id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "display_name": {"type": ["string", "null"]},
                },
                "description": "The account the caller acts for (JWTs: the account claim)",
            },
            "root": {
                "type": "boolean",
                "description": "The environment's root key (manages accounts)",
            },
        },
    },
}

_PAGING = (
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
    },
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
)
"""The query parameters of a listing (``limit``, ``cursor``), as every ``/v1`` listing."""

_KEY_ID = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}

_PATHS: dict[str, Any] = {
    "/v1/access-keys": {
        "post": {
            "operationId": "createAccessKey",
            "tags": ["access-keys"],
            "summary": "Create an access key (its secret is shown once)",
            "description": (
                "Only with scopes the caller holds, within its own bucket limits and (for "
                "an expiring key) expiry. Unknown fields are rejected. 409 when the "
                "account has `identity.max_keys_per_account` active keys."
            ),
            "requestBody": json_body(ref("NewAccessKey")),
            "responses": {
                "201": json_response("Created", ref("AccessKeyWithSecret")),
                **errors(400, 403, 409, 413, 415),
            },
        },
        "get": {
            "operationId": "listAccessKeys",
            "tags": ["access-keys"],
            "summary": "List the account's keys: all for admin, else those the caller created",
            "description": (
                "`mine=true`: only the caller's own keys (those it created and the one it "
                "calls with), for admin too. Pages as without it."
            ),
            "parameters": [
                {"name": "mine", "in": "query", "schema": {"type": "boolean", "default": False}},
                *_PAGING,
            ],
            "responses": {
                "200": json_response("One page", ref("AccessKeyPage")),
                **errors(400),
            },
        },
    },
    "/v1/access-keys/{key_id}": {
        "parameters": [_KEY_ID],
        "get": {
            "operationId": "getAccessKey",
            "tags": ["access-keys"],
            "summary": "One key (404 for keys the caller may not see)",
            "responses": {"200": json_response("The key", ref("AccessKey")), **errors(404)},
        },
        "delete": {
            "operationId": "revokeAccessKey",
            "tags": ["access-keys"],
            "summary": "Revoke at once (idempotent); the root key answers 409",
            "responses": {"204": {"description": "Revoked"}, **errors(404, 409)},
        },
    },
    "/v1/access-keys/{key_id}/rotate": {
        "parameters": [_KEY_ID],
        "post": {
            "operationId": "rotateAccessKey",
            "tags": ["access-keys"],
            "summary": "New secret; the old one stays valid for grace_seconds (default 0)",
            "requestBody": json_body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "grace_seconds": {
                            "type": ["integer", "null"],
                            "minimum": 0,
                            "maximum": MAX_GRACE_SECONDS,
                        }
                    },
                },
                required=False,
            ),
            "responses": {
                "200": json_response("Rotated", ref("AccessKeyWithSecret")),
                **errors(400, 403, 404, 409, 413, 415),
            },
        },
    },
    "/v1/buckets": {
        "get": {
            "operationId": "listBuckets",
            "tags": ["buckets"],
            "summary": "Buckets the caller may use, a page at a time in name order",
            "description": (
                "`next_cursor` opens the next page (null on the last); a cursor is "
                "answered only to the same caller with the same `stats`."
            ),
            "parameters": [
                {
                    "name": "stats",
                    "in": "query",
                    "schema": {"type": "boolean", "default": False},
                    "description": "Add object_count and size_bytes",
                },
                *_PAGING,
            ],
            "responses": {
                "200": json_response(
                    "One page",
                    {
                        "type": "object",
                        "required": ["buckets", "next_cursor"],
                        "properties": {
                            "buckets": {"type": "array", "items": ref("Bucket")},
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    },
                ),
                **errors(400, 403, 501, 503),
            },
        },
        "post": {
            "operationId": "createBucket",
            "tags": ["buckets"],
            "summary": "Create a bucket",
            "requestBody": json_body(ref("NewBucket")),
            "responses": {
                "201": json_response("Created", ref("Bucket")),
                **errors(400, 403, 409, 413, 415, 503),
            },
        },
    },
    "/v1/buckets/{name}": {
        "delete": {
            "operationId": "deleteBucket",
            "tags": ["buckets"],
            "summary": "Delete an empty bucket",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"204": {"description": "Deleted"}, **errors(403, 404, 409, 503)},
        }
    },
    "/v1/me": {
        "get": {
            "operationId": "getMe",
            "tags": ["identity"],
            "summary": "Who the caller is: key or user, scopes, bucket limits, expiry",
            "responses": {
                "200": json_response("The caller", ref("Me")),
            },
        }
    },
}

FRAGMENT = Fragment(
    paths=_PATHS,
    schemas=_SCHEMAS,
    tags=(
        {"name": "access-keys", "description": "API keys and AWS key pairs"},
        {"name": "buckets", "description": "Buckets, through the storage backend"},
        {"name": "identity", "description": "The caller"},
    ),
)
