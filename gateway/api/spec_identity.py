"""The OpenAPI description of ``/v1/users`` and ``/v1/clients`` (OAuth users and clients).

Kept beside the handlers' rules: ``gateway/api/users.py``, ``clients.py`` and
``validation.py``; the identity rules they call (``gateway/identity/users.py``,
``clients.py``, ``keys.py``). Who may call each operation comes from the route table
(``gateway/api/routes.py``), not from here. ``tests/e2e/test_openapi.py`` runs
schemathesis against the live server so a difference fails the build.
"""

from __future__ import annotations

from typing import Any

from gateway.api.access_keys import MAX_NAME
from gateway.api.openapi import NAME_RULES, Fragment, errors, json_body, json_response, ref
from gateway.identity.clients import GRANT_TYPES
from gateway.identity.users import MAX_ROLES
from gateway.scopes import ALL_SCOPES

__all__ = ["FRAGMENT"]

_S: dict[str, Any] = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_SCOPES = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"type": "string", "enum": sorted(ALL_SCOPES)},
}
# Client names follow access-key names (keys.validate_name): trimmed, then 1-128
# printable characters. Surrounding whitespace is trimmed, not refused.
_NAME = {
    "type": "string",
    "pattern": r"^\s*[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\s*$",
    "description": f"1 to {MAX_NAME} printable characters once trimmed. {NAME_RULES}",
}
_PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
    },
    {"name": "cursor", "in": "query", "schema": _S},
]
_USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": _S}
_ROLES: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_ROLES,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"},
}
_CLIENT_ID = {"name": "client_id", "in": "path", "required": True, "schema": _S}

_SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": [
            "id",
            "username",
            "scopes",
            "disabled",
            "created_at",
            "updated_at",
            "disabled_at",
            "account_id",
        ],
        "properties": {
            "account_id": _S,
            "id": _S,
            "username": _S,
            "scopes": {"type": "array", "items": _S},
            "roles": {**_ROLES, "description": "Role names the user's access tokens carry"},
            "disabled": {"type": "boolean"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "disabled_at": _NULLABLE_TIME,
        },
    },
    "NewUser": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "password", "scopes"],
        "properties": {
            "username": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}$",
                "description": "Unique in the gateway (all accounts), compared case-insensitively",
            },
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "scopes": _SCOPES,
            "roles": {**_ROLES, "type": ["array", "null"]},
        },
    },
    "UserUpdate": {
        "type": "object",
        "additionalProperties": False,
        "description": "Disabling, a new password or deletion revokes the user's sessions."
        " null leaves a member unchanged; a body changing nothing is 400 (Nothing to update)",
        "properties": {
            "disabled": {"type": ["boolean", "null"]},
            "scopes": {**_SCOPES, "type": ["array", "null"]},
            "password": {"type": ["string", "null"], "minLength": 8, "maxLength": 1024},
            "roles": {**_ROLES, "type": ["array", "null"]},
        },
        "anyOf": [
            {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
            for name in ("disabled", "scopes", "password", "roles")
        ],
    },
    "UserPage": {
        "type": "object",
        "required": ["users", "next_cursor"],
        "properties": {
            "users": {"type": "array", "items": ref("User")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "OAuthClient": {
        "type": "object",
        "required": ["client_id", "name", "grant_types", "scopes", "created_at", "account_id"],
        "properties": {
            "account_id": _S,
            "client_id": _S,
            "name": _S,
            "grant_types": {
                "type": "array",
                "items": {"type": "string", "enum": list(GRANT_TYPES)},
            },
            "scopes": {"type": "array", "items": _S},
            "created_at": _TIME,
        },
    },
    "OAuthClientWithSecret": {
        "allOf": [
            ref("OAuthClient"),
            {
                "type": "object",
                "required": ["client_secret"],
                "properties": {
                    "client_secret": {**_S, "description": "Shown only in this response"}
                },
            },
        ]
    },
    "NewOAuthClient": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "scopes"],
        "properties": {
            "name": _NAME,
            "grant_types": {
                "type": ["array", "null"],
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "enum": list(GRANT_TYPES)},
                "description": (
                    "Omitted or null: password and refresh_token; an empty list is "
                    "refused (400), as is refresh_token alone"
                ),
            },
            "scopes": _SCOPES,
        },
    },
    "OAuthClientPage": {
        "type": "object",
        "required": ["clients", "next_cursor"],
        "properties": {
            "clients": {"type": "array", "items": ref("OAuthClient")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/v1/users": {
        "post": {
            "operationId": "createUser",
            "tags": ["users"],
            "summary": "Create a user",
            "description": (
                "409 for a taken username, or when the account has "
                "`identity.max_users_per_account` users."
            ),
            "requestBody": json_body(ref("NewUser")),
            "responses": {
                "201": json_response("The user", ref("User")),
                **errors(400, 409, 413, 415),
            },
        },
        "get": {
            "operationId": "listUsers",
            "tags": ["users"],
            "summary": "List users in id order",
            "parameters": _PAGE_PARAMETERS,
            "responses": {
                "200": json_response("One page", ref("UserPage")),
                **errors(400),
            },
        },
    },
    "/v1/users/{user_id}": {
        "parameters": [_USER_ID],
        "get": {
            "operationId": "getUser",
            "tags": ["users"],
            "summary": "One user",
            "responses": {
                "200": json_response("The user", ref("User")),
                **errors(404),
            },
        },
        "patch": {
            "operationId": "updateUser",
            "tags": ["users"],
            "summary": "Disable or enable, change scopes, roles or password",
            "requestBody": json_body(ref("UserUpdate")),
            "responses": {
                "200": json_response("The user", ref("User")),
                **errors(400, 404, 413, 415),
            },
        },
        "delete": {
            "operationId": "deleteUser",
            "tags": ["users"],
            "summary": "Delete a user and revoke its sessions",
            "responses": {"204": {"description": "Deleted"}, **errors(404)},
        },
    },
    "/v1/clients": {
        "post": {
            "operationId": "createClient",
            "tags": ["clients"],
            "summary": "Register an OAuth client; its secret is shown once",
            "description": "409 when the account has `identity.max_clients_per_account`.",
            "requestBody": json_body(ref("NewOAuthClient")),
            "responses": {
                "201": json_response("The client and its secret", ref("OAuthClientWithSecret")),
                **errors(400, 409, 413, 415),
            },
        },
        "get": {
            "operationId": "listClients",
            "tags": ["clients"],
            "summary": "List clients in id order",
            "parameters": _PAGE_PARAMETERS,
            "responses": {
                "200": json_response("One page", ref("OAuthClientPage")),
                **errors(400),
            },
        },
    },
    "/v1/clients/{client_id}": {
        "parameters": [_CLIENT_ID],
        "get": {
            "operationId": "getClient",
            "tags": ["clients"],
            "summary": "One client, without its secret",
            "responses": {
                "200": json_response("The client", ref("OAuthClient")),
                **errors(404),
            },
        },
        "delete": {
            "operationId": "deleteClient",
            "tags": ["clients"],
            "summary": "Delete a client; every token issued to it stops at once",
            "responses": {"204": {"description": "Deleted"}, **errors(404)},
        },
    },
}

FRAGMENT = Fragment(
    paths=_PATHS,
    schemas=_SCHEMAS,
    tags=(
        {"name": "users", "description": "OAuth users"},
        {"name": "clients", "description": "OAuth clients"},
    ),
)
