"""``GET /v1/openapi.json``: one OpenAPI 3.1 document assembled from fragments.

Each API module describes its own paths in a :class:`Fragment` and registers it with
:func:`register` from its ``add_routes(app)``, next to the routes it adds, so the document
and the router are written side by side and cannot drift apart silently (the schemathesis
test in ``tests/e2e/test_openapi.py`` checks the live server against the document)::

    from gateway.api import openapi

    FRAGMENT = openapi.Fragment(
        paths={"/oauth/token": {"post": {...}}},
        schemas={"TokenResponse": {...}},
        tags=({"name": "oauth", "description": "..."},),
    )

    def add_routes(app):
        app.router.add_post("/oauth/token", token)
        openapi.register(app, FRAGMENT)

Helpers for fragments: :func:`ref`, :func:`json_body`, :func:`json_response`,
:func:`errors` (the shared JSON error responses), :data:`NO_AUTH` (``security: []``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway import __version__

__all__ = [
    "NO_AUTH",
    "OPENAPI_FRAGMENTS",
    "Fragment",
    "add_routes",
    "build_document",
    "errors",
    "json_body",
    "json_response",
    "ref",
    "register",
]


@dataclass(frozen=True)
class Fragment:
    """Paths (and the component schemas, security schemes and tags they use) contributed
    by one module."""

    paths: Mapping[str, Any]
    schemas: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[Mapping[str, str]] = ()
    security_schemes: Mapping[str, Any] = field(default_factory=dict)


OPENAPI_FRAGMENTS: web.AppKey[list[Fragment]] = web.AppKey("openapi_fragments")

NO_AUTH: list[dict[str, list[str]]] = []
"""``security`` of an operation that needs no credentials."""

_ERROR_CODES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "`InvalidRequest` (malformed body) or `ValidationError` (a field)"),
    401: ("Unauthorized", "`Unauthorized`, `InvalidApiKey` or `InvalidToken`"),
    403: ("Forbidden", "`ScopeRequired` (with `required_scope`) or `AccessDenied`"),
    404: ("NotFound", "`NotFound`"),
    409: ("Conflict", "`Conflict`"),
    413: ("PayloadTooLarge", "`PayloadTooLarge`"),
    415: ("UnsupportedMediaType", "`UnsupportedMediaType`: the body must be JSON"),
    501: ("NotImplemented", "`NotImplemented`"),
    503: ("ServiceUnavailable", "`ServiceUnavailable`: the storage backend is unavailable"),
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "required_scope": {"type": "string"},
                    },
                },
            },
        }
    },
}


_SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An access key secret (sk_...) or an OAuth 2.0 access token",
    },
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def json_body(schema: Mapping[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": dict(schema)}}}


def json_response(description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": dict(schema)}}
    return response


def errors(*statuses: int) -> dict[str, Any]:
    """Responses for the given error statuses, referring to the shared error responses."""
    return {str(s): {"$ref": f"#/components/responses/{_ERROR_CODES[s][0]}"} for s in statuses}


def register(app: web.Application, fragment: Fragment) -> None:
    """Add ``fragment`` to the document served by this application."""
    if OPENAPI_FRAGMENTS not in app:
        app[OPENAPI_FRAGMENTS] = []
    app[OPENAPI_FRAGMENTS].append(fragment)


def build_document(fragments: Sequence[Fragment]) -> dict[str, Any]:
    """The OpenAPI 3.1 document; a path, schema or security scheme defined twice is a
    programming error."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    security_schemes: dict[str, Any] = dict(_SECURITY_SCHEMES)
    tags: list[dict[str, str]] = []
    for fragment in fragments:
        pairs = (
            (paths, fragment.paths),
            (schemas, fragment.schemas),
            (security_schemes, fragment.security_schemes),
        )
        for target, source in pairs:
            clash = set(target) & set(source)
            if clash:
                raise ValueError(f"OpenAPI fragments define {sorted(clash)} twice")
            target.update(source)
        tags.extend(dict(tag) for tag in fragment.tags)
    responses = {
        name: {
            "description": description,
            "content": {"application/json": {"schema": ref("Error")}},
        }
        for name, description in _ERROR_CODES.values()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nfyio-gateway API",
            "version": __version__,
            "description": (
                "Access keys, buckets and identity for the nfyio S3-compatible gateway. "
                'Errors are JSON: {"error": {"code", "message", "details"}}.'
            ),
        },
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": security_schemes,
        },
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
    }


_DOCUMENT_CACHE: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")
"""Holds the built document under ``"document"`` (filled at startup)."""

OPENAPI_FRAGMENT = Fragment(
    paths={
        "/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "tags": ["meta"],
                "summary": "This document",
                "security": NO_AUTH,
                "responses": {"200": json_response("The OpenAPI 3.1 document", {"type": "object"})},
            }
        }
    },
    tags=({"name": "meta", "description": "About the API itself"},),
)


async def openapi_document(request: web.Request) -> web.Response:
    cache = request.app[_DOCUMENT_CACHE]
    if "document" not in cache:
        fragments: list[Fragment] = request.app[OPENAPI_FRAGMENTS]
        cache["document"] = build_document(fragments)
    return web.json_response(cache["document"])


async def _build_on_startup(app: web.Application) -> None:
    # Built once all modules registered their fragments (a clash fails the start).
    fragments: list[Fragment] = app[OPENAPI_FRAGMENTS]
    app[_DOCUMENT_CACHE]["document"] = build_document(fragments)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/openapi.json", openapi_document, allow_head=False)
    register(app, OPENAPI_FRAGMENT)
    app[_DOCUMENT_CACHE] = {}
    app.on_startup.append(_build_on_startup)
