"""The OpenAPI description of the audit log (``GET /v1/audit-events``, handler
``gateway/api/audit.py``) and of the ``RateLimit`` shape keys and accounts share."""

from __future__ import annotations

from typing import Any

from gateway.api.openapi import Fragment, errors, json_response, ref
from gateway.config import MAX_RATE

__all__ = ["FRAGMENT", "RATE_LIMIT_FIELD"]

_S: dict[str, Any] = {"type": "string"}
_NULLABLE_S: dict[str, Any] = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_RATE}

RATE_LIMIT_FIELD: dict[str, Any] = {
    "oneOf": [ref("RateLimit"), {"type": "null"}],
    "description": "Overrides the configured limit (null or omitted: the default applies;"
    " see docs/rate-limits.md)",
}

_SCHEMAS: dict[str, Any] = {
    "RateLimit": {
        "type": "object",
        "additionalProperties": False,
        "required": ["requests_per_minute"],
        "properties": {
            "requests_per_minute": _COUNT,
            "burst": {
                **_COUNT,
                "type": ["integer", "null"],
                "description": "Bucket size; null or omitted: requests_per_minute",
            },
        },
    },
    "AuditEvent": {
        "type": "object",
        "required": [
            "id",
            "time",
            "action",
            "outcome",
            "actor",
            "target",
            "client_address",
            "user_agent",
            "request_id",
        ],
        "properties": {
            "id": {**_S, "description": "Orders events by time"},
            "time": {"type": "string", "format": "date-time"},
            "action": {**_S, "description": "access_key.create, auth.password.failure, ..."},
            "outcome": {"type": "string", "enum": ["success", "failure"]},
            "actor": {
                "type": "object",
                "required": ["type", "id", "account"],
                "properties": {
                    "type": {
                        "type": "string",
                        "enum": ["key", "user", "client", "anonymous", "operator", "service"],
                    },
                    "id": _NULLABLE_S,
                    "account": _NULLABLE_S,
                },
            },
            "target": {
                "type": "object",
                "required": ["type", "id"],
                "properties": {"type": _NULLABLE_S, "id": _NULLABLE_S},
            },
            "account": {**_NULLABLE_S, "description": "Whose audit log holds the event"},
            "client_address": _NULLABLE_S,
            "user_agent": _NULLABLE_S,
            "request_id": _NULLABLE_S,
            "details": {"type": "object"},
        },
    },
    "AuditEventPage": {
        "type": "object",
        "required": ["events", "next_cursor"],
        "properties": {
            "events": {"type": "array", "items": ref("AuditEvent")},
            "next_cursor": _NULLABLE_S,
        },
    },
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema or _S}


_PATHS: dict[str, Any] = {
    "/v1/audit-events": {
        "get": {
            "operationId": "listAuditEvents",
            "tags": ["audit"],
            "summary": "The audit log, newest first",
            "description": "An account's admins read its events; the root key every"
            " account's (narrowed with `account`).",
            "parameters": [
                _query(
                    "action",
                    "An action name, or a prefix ending in .* (access_key.*)",
                    {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$"},
                ),
                _query("actor", "The actor's id (key, user or client)"),
                _query("target", "The target's id (a bucket, bucket/key, ak_..., ...)"),
                _query(
                    "bucket",
                    "A bucket's own events and those of its objects and uploads",
                    {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,255}$"},
                ),
                _query("since", "From this time (inclusive)", {"type": "string"}),
                _query("until", "Before this time", {"type": "string"}),
                _query("account", "Root key only: one account's events"),
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                },
                _query("cursor", "next_cursor of the previous page"),
            ],
            "responses": {
                "200": json_response("One page of events", ref("AuditEventPage")),
                **errors(400),
            },
        }
    }
}

FRAGMENT = Fragment(
    paths=_PATHS,
    schemas=_SCHEMAS,
    tags=({"name": "audit", "description": "Who changed what, and every sign-in"},),
)
