"""OpenAPI 3.1 description of ``/oauth/*`` and ``/.well-known/*``.

Registered by :func:`gateway.oauth.routes.add_routes` next to the routes it describes.
``tests/e2e/test_openapi.py`` runs schemathesis against the live server, so the document
and the handlers (``token_endpoint.py``, ``revocation.py``, ``forms.py``, ``metadata.py``)
cannot drift apart silently. (``/v1/users`` and ``/v1/clients`` are REST routes:
``gateway/api/spec_identity.py``.)

Errors are RFC 6749 section 5.2 errors (``{"error", "error_description"}``,
:class:`~gateway.oauth.errors.OAuthError`) with ``Cache-Control: no-store``.

Client authentication at ``/oauth/*`` is HTTP Basic (``clientBasic``, RFC 6749 2.3.1:
each part form-encoded) or ``client_id`` + ``client_secret`` in the body
(``client_secret_post``, which OpenAPI cannot express as a security scheme), never both.
"""

from __future__ import annotations

from typing import Any

from gateway.api.openapi import NO_AUTH, Fragment, json_response, ref
from gateway.scopes import ALL_SCOPES

__all__ = ["FRAGMENT", "PATHS", "SCHEMAS", "SECURITY_SCHEMES"]

_FORM = "application/x-www-form-urlencoded"
_S: dict[str, Any] = {"type": "string"}
_SCOPE_NAMES = "|".join(sorted(ALL_SCOPES))
# RFC 6749 3.3: space-delimited; the server refuses unknown names (invalid_scope). An
# empty value counts as omitted (forms.Form.get).
_SCOPE_PARAM = {
    "type": "string",
    "pattern": f"^$|^ *({_SCOPE_NAMES})( +({_SCOPE_NAMES}))* *$",
    "description": "Space-separated scope names; omitted or empty: every scope allowed",
}

SECURITY_SCHEMES: dict[str, Any] = {
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": (
            "OAuth client authentication (client_secret_basic): client_id and client_secret, "
            "each form-encoded (RFC 6749 2.3.1). Alternatively client_id and client_secret "
            "in the form body (client_secret_post), but not both methods at once."
        ),
    }
}
_CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientBasic": []}, {}]
"""Basic, or no Authorization header at all: a client may authenticate with its id and
secret in the form body instead (client_secret_post), which is no security scheme; the
empty requirement says the header is optional, as it is. Without it, a request carrying
a valid client in its body read as one that ignored missing credentials."""

_NO_STORE = {
    "Cache-Control": {
        "description": "Always no-store (RFC 6749 5.1)",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    }
}


def _oauth_json(description: str, schema: dict[str, Any], **headers: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**_NO_STORE, **headers},
        "content": {"application/json": {"schema": schema}},
    }


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {_FORM: {"schema": schema}}}


_CLIENT_FIELDS: dict[str, Any] = {
    "client_id": {**_S, "description": "client_secret_post (with client_secret)"},
    "client_secret": {**_S, "description": "client_secret_post; not together with Basic"},
}

_OAUTH_400 = _oauth_json(
    "`invalid_request` (not a form body, a charset other than UTF-8, US-ASCII or "
    "ISO-8859-1, bytes that are not text in it, a parameter the endpoint reads missing or "
    "repeated, two client authentication methods), `unsupported_grant_type`, "
    "`invalid_grant`, "
    "`unauthorized_client` or `invalid_scope`",
    ref("OAuthError"),
)
_OAUTH_401 = _oauth_json(
    "`invalid_client`: client authentication missing or failed",
    ref("OAuthError"),
    **{
        "WWW-Authenticate": {
            "description": "A Basic challenge",
            "required": True,
            "schema": {"type": "string", "pattern": "^Basic "},
        }
    },
)
_OAUTH_429 = _oauth_json(
    "`slow_down`: too many failed logins or client authentications for this username or"
    " address; `temporarily_unavailable`: too many credential checks queued on the server",
    ref("OAuthError"),
    **{
        "Retry-After": {
            "description": "Seconds to wait",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
)
_OAUTH_503 = _oauth_json(
    "`temporarily_unavailable`: the state store (database) is unavailable; retry after"
    " `Retry-After` seconds",
    ref("OAuthError"),
    **{
        "Retry-After": {
            "description": "Seconds to wait",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
)

SCHEMAS: dict[str, Any] = {
    "OAuthError": {
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {
            "error": {
                "type": "string",
                "enum": [
                    "invalid_request",
                    "invalid_client",
                    "invalid_grant",
                    "unauthorized_client",
                    "unsupported_grant_type",
                    "invalid_scope",
                    "slow_down",
                    "temporarily_unavailable",
                ],
            },
            "error_description": _S,
        },
    },
    "TokenResponse": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "scope"],
        "properties": {
            "access_token": _S,
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 0},
            "refresh_token": {
                **_S,
                "description": "When the client may use the refresh_token grant",
            },
            "scope": _S,
        },
    },
    "IntrospectionResponse": {
        "type": "object",
        "required": ["active"],
        "description": 'RFC 7662; an inactive token is {"active": false} and nothing else',
        "properties": {
            "active": {"type": "boolean"},
            "scope": _S,
            "client_id": _S,
            "username": _S,
            "token_type": {"type": "string", "enum": ["Bearer", "refresh_token"]},
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "nbf": {"type": "integer"},
            "sub": _S,
            "aud": {"type": ["string", "array"]},
            "iss": _S,
            "jti": _S,
            "sid": _S,
            "roles": {"type": "array", "items": _S, "description": "A user token's roles"},
        },
    },
    "JwkSet": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kty", "kid"],
                    "properties": {"kty": _S, "kid": _S, "use": _S, "alg": _S},
                },
            }
        },
    },
    "AuthorizationServerMetadata": {
        "type": "object",
        "required": [
            "issuer",
            "token_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "introspection_endpoint",
            "grant_types_supported",
            "response_types_supported",
            "scopes_supported",
            "token_endpoint_auth_methods_supported",
        ],
        "properties": {
            "issuer": _S,
            "token_endpoint": _S,
            "jwks_uri": _S,
            "revocation_endpoint": _S,
            "introspection_endpoint": _S,
            "grant_types_supported": {"type": "array", "items": _S},
            "response_types_supported": {"type": "array", "items": _S},
            "scopes_supported": {"type": "array", "items": _S},
            "token_endpoint_auth_methods_supported": {"type": "array", "items": _S},
            "revocation_endpoint_auth_methods_supported": {"type": "array", "items": _S},
            "introspection_endpoint_auth_methods_supported": {"type": "array", "items": _S},
            "claims_supported": {
                "type": "array",
                "items": _S,
                "description": "The claims of the gateway's access tokens, preferred_username"
                " and roles included (user tokens)",
            },
        },
    },
}

_TOKEN_FORM = _form(
    {
        "token": {**_S, "minLength": 1},
        "token_type_hint": {
            **_S,
            "description": "access_token or refresh_token; optional, an unknown hint is ignored",
        },
        **_CLIENT_FIELDS,
    },
    ["token"],
)

PATHS: dict[str, Any] = {
    "/oauth/token": {
        "post": {
            "operationId": "oauthToken",
            "tags": ["oauth"],
            "summary": "password, refresh_token or client_credentials grant (RFC 6749)",
            "description": (
                "Failed password logins are throttled per username and per address; a "
                "blocked attempt is 429 `slow_down` before the password is checked."
            ),
            "security": _CLIENT_AUTH,
            "requestBody": _form(
                {
                    "grant_type": {
                        "type": "string",
                        "enum": ["password", "refresh_token", "client_credentials"],
                    },
                    "username": {**_S, "description": "password grant"},
                    "password": {**_S, "description": "password grant"},
                    "refresh_token": {**_S, "description": "refresh_token grant"},
                    "scope": _SCOPE_PARAM,
                    **_CLIENT_FIELDS,
                },
                ["grant_type"],
            ),
            "responses": {
                "200": _oauth_json("Tokens", ref("TokenResponse")),
                "400": _OAUTH_400,
                "401": _OAUTH_401,
                "429": _OAUTH_429,
                "503": _OAUTH_503,
            },
        }
    },
    "/oauth/revoke": {
        "post": {
            "operationId": "oauthRevoke",
            "tags": ["oauth"],
            "summary": "Revoke a refresh token (its whole session) or an access token (RFC 7009)",
            "security": _CLIENT_AUTH,
            "requestBody": _TOKEN_FORM,
            "responses": {
                "200": {
                    "description": "Revoked, or unknown, invalid or another client's: the same",
                    "headers": _NO_STORE,
                },
                "400": _oauth_json("`invalid_request`", ref("OAuthError")),
                "401": _OAUTH_401,
                "429": _OAUTH_429,
                "503": _OAUTH_503,
            },
        }
    },
    "/oauth/introspect": {
        "post": {
            "operationId": "oauthIntrospect",
            "tags": ["oauth"],
            "summary": "Whether a token is active, and its claims (RFC 7662)",
            "security": _CLIENT_AUTH,
            "requestBody": _TOKEN_FORM,
            "responses": {
                "200": _oauth_json("Token information", ref("IntrospectionResponse")),
                "400": _oauth_json("`invalid_request`", ref("OAuthError")),
                "401": _OAUTH_401,
                "429": _OAUTH_429,
                "503": _OAUTH_503,
            },
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "jwks",
            "tags": ["oauth"],
            "summary": "Public keys that verify access tokens (cached up to 5 minutes)",
            "security": NO_AUTH,
            "responses": {
                "200": {
                    "description": "JWK set",
                    "content": {"application/jwk-set+json": {"schema": ref("JwkSet")}},
                }
            },
        }
    },
    "/.well-known/oauth-authorization-server": {
        "get": {
            "operationId": "oauthMetadata",
            "tags": ["oauth"],
            "summary": "Authorization server metadata (RFC 8414)",
            "security": NO_AUTH,
            "responses": {"200": json_response("Metadata", ref("AuthorizationServerMetadata"))},
        }
    },
}


def issuer_metadata_fragment(path: str) -> Fragment:
    """The metadata at ``path``, RFC 8414 3's location for an issuer with a path."""
    return Fragment(
        paths={
            path: {
                "get": {
                    "operationId": "oauthMetadataOfIssuerPath",
                    "tags": ["oauth"],
                    "summary": "Authorization server metadata (RFC 8414 3: the issuer's path"
                    " after the well-known suffix)",
                    "security": NO_AUTH,
                    "responses": {
                        "200": json_response("Metadata", ref("AuthorizationServerMetadata"))
                    },
                }
            }
        }
    )


FRAGMENT = Fragment(
    paths=PATHS,
    schemas=SCHEMAS,
    security_schemes=SECURITY_SCHEMES,
    tags=({"name": "oauth", "description": "OAuth 2.0 authorization server"},),
)
