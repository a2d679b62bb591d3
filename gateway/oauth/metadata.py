"""``GET /.well-known/jwks.json`` and ``GET /.well-known/oauth-authorization-server``."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.identity.clients import GRANT_TYPES
from gateway.oauth.context import OAUTH
from gateway.scopes import ALL_SCOPES

__all__ = ["CLAIMS", "authorization_server_metadata", "jwks"]

_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
CLAIMS = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "sid",
    "account",
    "preferred_username",
    "roles",
]
"""The claims of the gateway's access tokens (docs/oauth.md)."""


_PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e")
"""What a published RSA verification key holds. Not ``key_ops``, which pyjwt's
``to_jwk`` adds to the stored JWK: RFC 7517 4.3 says ``use`` and ``key_ops`` SHOULD NOT
be used together (``use: sig`` says it). And never a private member, whatever a stored
JWK might hold."""


async def jwks(request: web.Request) -> web.Response:
    """The active key and every retired key still within its overlap. Short cache
    lifetime: a rotation is visible to verifiers within five minutes, and verifiers
    refetch on an unknown ``kid`` anyway."""
    ctx = request.app[OAUTH]
    stored = await ctx.store.signing_keys.jwks(datetime.now(UTC))
    keys = [{m: key[m] for m in _PUBLIC_MEMBERS if m in key} for key in stored]
    return web.json_response(
        {"keys": keys},
        headers={"Cache-Control": "public, max-age=300"},
        content_type="application/jwk-set+json",
    )


async def authorization_server_metadata(request: web.Request) -> web.Response:
    """RFC 8414. ``issuer`` is exactly the ``iss`` of every token."""
    issuer = request.app[OAUTH].settings.issuer
    body = {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "grant_types_supported": list(GRANT_TYPES),
        "response_types_supported": [],
        "scopes_supported": sorted(ALL_SCOPES),
        "token_endpoint_auth_methods_supported": _AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": _AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": _AUTH_METHODS,
        # Not an RFC 8414 member (OpenID Connect Discovery's): what an access token holds.
        "claims_supported": CLAIMS,
    }
    return web.json_response(body, headers={"Cache-Control": "public, max-age=300"})
