"""OpenAPI 3.1 path items for ``/oauth/*``, ``/.well-known/*``, ``/v1/users``, ``/v1/clients``.

Not yet registered with :mod:`gateway.api.openapi` (``openapi.register(app,
Fragment(paths=PATHS, schemas=SCHEMAS))`` in :func:`gateway.oauth.routes.add_routes`):
the schemathesis suite (``tests/e2e/test_openapi.py``) must be run against these first.
OAuth endpoints answer RFC 6749 errors (``OAuthError``), not the ``/v1`` error shape.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PATHS", "SCHEMAS"]

_FORM = "application/x-www-form-urlencoded"
_NO_AUTH: list[dict[str, list[str]]] = []
_BASIC: list[dict[str, list[str]]] = []  # client auth is Basic or in the form body


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {_FORM: {"schema": schema}}}


_S = {"type": "string"}
_CLIENT_FIELDS = {"client_id": _S, "client_secret": _S}
_OAUTH_ERROR = _json("RFC 6749 error", _ref("OAuthError"))

SCHEMAS: dict[str, Any] = {
    "OAuthError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": _S, "error_description": _S},
    },
    "TokenResponse": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "scope"],
        "properties": {
            "access_token": _S,
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": _S,
            "scope": _S,
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "id": _S,
            "username": _S,
            "scopes": {"type": "array", "items": _S},
            "disabled": {"type": "boolean"},
            "created_at": _S,
            "updated_at": _S,
            "disabled_at": {"type": ["string", "null"]},
        },
    },
    "OAuthClient": {
        "type": "object",
        "properties": {
            "client_id": _S,
            "name": _S,
            "grant_types": {"type": "array", "items": _S},
            "scopes": {"type": "array", "items": _S},
            "created_at": _S,
            "client_secret": {"type": "string", "description": "create response only"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/oauth/token": {
        "post": {
            "operationId": "oauthToken",
            "tags": ["oauth"],
            "summary": "password, refresh_token or client_credentials grant",
            "security": _BASIC,
            "requestBody": _form(
                {
                    "grant_type": {"enum": ["password", "refresh_token", "client_credentials"]},
                    "username": _S,
                    "password": _S,
                    "refresh_token": _S,
                    "scope": _S,
                    **_CLIENT_FIELDS,
                },
                ["grant_type"],
            ),
            "responses": {
                "200": _json("Tokens (Cache-Control: no-store)", _ref("TokenResponse")),
                "400": _OAUTH_ERROR,
                "401": _OAUTH_ERROR,
                "429": _OAUTH_ERROR,
            },
        }
    },
    "/oauth/revoke": {
        "post": {
            "operationId": "oauthRevoke",
            "tags": ["oauth"],
            "security": _BASIC,
            "requestBody": _form({"token": _S, "token_type_hint": _S, **_CLIENT_FIELDS}, ["token"]),
            "responses": {
                "200": {"description": "Revoked (or unknown)"},
                "400": _OAUTH_ERROR,
                "401": _OAUTH_ERROR,
            },
        }
    },
    "/oauth/introspect": {
        "post": {
            "operationId": "oauthIntrospect",
            "tags": ["oauth"],
            "security": _BASIC,
            "requestBody": _form({"token": _S, "token_type_hint": _S, **_CLIENT_FIELDS}, ["token"]),
            "responses": {
                "200": _json("RFC 7662 response", {"type": "object", "required": ["active"]}),
                "400": _OAUTH_ERROR,
                "401": _OAUTH_ERROR,
            },
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "jwks",
            "tags": ["oauth"],
            "security": _NO_AUTH,
            "responses": {
                "200": {
                    "description": "JWK set",
                    "content": {"application/jwk-set+json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/.well-known/oauth-authorization-server": {
        "get": {
            "operationId": "oauthMetadata",
            "tags": ["oauth"],
            "security": _NO_AUTH,
            "responses": {"200": _json("RFC 8414 metadata", {"type": "object"})},
        }
    },
    "/v1/users": {
        "post": {
            "operationId": "createUser",
            "tags": ["users"],
            "responses": {"201": _json("The user", _ref("User"))},
        },
        "get": {
            "operationId": "listUsers",
            "tags": ["users"],
            "responses": {"200": _json("A page of users", {"type": "object"})},
        },
    },
    "/v1/users/{user_id}": {
        "get": {
            "operationId": "getUser",
            "tags": ["users"],
            "responses": {"200": _json("The user", _ref("User"))},
        },
        "patch": {
            "operationId": "updateUser",
            "tags": ["users"],
            "responses": {"200": _json("The user", _ref("User"))},
        },
        "delete": {
            "operationId": "deleteUser",
            "tags": ["users"],
            "responses": {"204": {"description": "Deleted"}},
        },
    },
    "/v1/clients": {
        "post": {
            "operationId": "createClient",
            "tags": ["clients"],
            "responses": {"201": _json("The client and its secret", _ref("OAuthClient"))},
        },
        "get": {
            "operationId": "listClients",
            "tags": ["clients"],
            "responses": {"200": _json("A page of clients", {"type": "object"})},
        },
    },
    "/v1/clients/{client_id}": {
        "get": {
            "operationId": "getClient",
            "tags": ["clients"],
            "responses": {"200": _json("The client", _ref("OAuthClient"))},
        },
        "delete": {
            "operationId": "deleteClient",
            "tags": ["clients"],
            "responses": {"204": {"description": "Deleted"}},
        },
    },
}
