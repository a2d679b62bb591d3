"""``GET /v1/openapi.json``: one OpenAPI 3.1 document assembled from fragments.

Each API module describes the shapes of its paths (parameters, bodies, responses) in a
:class:`Fragment`, registered with :func:`register`. Who may call a ``/v1`` operation is
not written there: :func:`build_document` takes it from the route table
(:data:`gateway.api.routes.ROUTES`), the rows the router and the access middleware use,
and writes each operation's ``security`` (the scope as the requirement's role, OpenAPI
3.1), a sentence naming the scope at the head of its ``description``, and its 401 / 403
responses. A ``/v1`` row without a documented operation, or the reverse, fails the
start. The schemathesis test in ``tests/e2e/test_openapi.py`` checks the live server
against the document::

    from gateway.api import openapi

    FRAGMENT = openapi.Fragment(
        paths={"/v1/things": {"get": {"operationId": "listThings", ...}}},
        schemas={"Thing": {...}},
        tags=({"name": "things", "description": "..."},),
    )

Helpers for fragments: :func:`ref`, :func:`json_body`, :func:`json_response`,
:func:`errors` (the shared JSON error responses), :data:`NO_AUTH` (``security: []``, for
the OAuth endpoints, which are not in the route table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway import __version__
from gateway.api.errors import ApiError
from gateway.api.routing import PUBLIC, ROOT, Access, Route, rows_of
from gateway.scopes import ADMIN

__all__ = [
    "NAME_RULES",
    "NO_AUTH",
    "OPENAPI_FRAGMENT",
    "OPENAPI_FRAGMENTS",
    "Fragment",
    "build_document",
    "errors",
    "install",
    "json_body",
    "json_response",
    "openapi_document",
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

NAME_RULES = (
    "In Unicode NFKC form (no fullwidth letters, ligatures, superscripts or decomposed"
    " accents) and in one script, Unicode TS #39's Highly Restrictive level (one script, or"
    " Latin with Han and Hiragana/Katakana, Bopomofo or Hangul; digits, spaces,"
    " punctuation, symbols and combining marks go with any; decimal digits of one"
    " numbering system); otherwise 400 `ValidationError` naming the field (docs/api.md)"
)
"""The rules every name of the identity store's (access keys, OAuth clients, accounts)
and an account's e-mail (the script rule: its mailbox, before ``@``) are held to
(``gateway.identity.key_rules.require_nfkc`` / ``require_one_script``): the one phrase
the OpenAPI document gives each such field."""

_ERROR_CODES: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "`InvalidRequest` (malformed body, a credential header sent twice) or"
        " `ValidationError` (a field, or a query parameter the operation does not have)",
    ),
    401: ("Unauthorized", "`Unauthorized`, `InvalidApiKey` or `InvalidToken`"),
    403: (
        "Forbidden",
        "`ScopeRequired` (with `required_scope`), `RootRequired`, `AccessDenied`, or"
        " `TLSRequired` (credentials sent without TLS under `server.require_tls`)",
    ),
    404: ("NotFound", "`NotFound`"),
    409: ("Conflict", "`Conflict`"),
    413: ("PayloadTooLarge", "`PayloadTooLarge`"),
    415: ("UnsupportedMediaType", "`UnsupportedMediaType`: the body must be JSON"),
    429: (
        "TooManyRequests",
        "`RateLimitExceeded` (with `retry_after`): the caller's rate limit is spent; retry"
        " after `Retry-After` seconds (docs/rate-limits.md)",
    ),
    501: ("NotImplemented", "`NotImplemented`"),
    503: (
        "ServiceUnavailable",
        "`ServiceUnavailable`: the storage backend or the state store is unavailable (with"
        " `Retry-After` when it is the state store)",
    ),
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


_INT_HEADER: dict[str, Any] = {"schema": {"type": "integer", "minimum": 0}}
_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "Retry-After": {**_INT_HEADER, "description": "Seconds until a request may succeed"},
    "X-RateLimit-Limit": {**_INT_HEADER, "description": "Requests per minute of the bucket"},
    "X-RateLimit-Remaining": {**_INT_HEADER, "description": "Requests that may still be made"},
    "X-RateLimit-Reset": {
        **_INT_HEADER,
        "description": "Unix time (seconds) by which the bucket is full again",
    },
}
"""Every response carries the ``X-RateLimit-*`` headers (docs/rate-limits.md); the 429
also ``Retry-After``."""


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


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
"""The keys of a path item that are operations (the others: parameters, summary, ...)."""


def _security(scope: Access) -> list[dict[str, list[str]]]:
    if scope is PUBLIC:
        return []
    roles = [] if scope is None else [ADMIN] if scope is ROOT else [scope]
    return [{name: list(roles)} for name in _SECURITY_SCHEMES]


def _access_sentence(scope: Access) -> str:
    if scope is PUBLIC:
        return "No credentials needed."
    if scope is None:
        return "Any authenticated caller."
    if scope is ROOT:
        return "Only the root key from the environment (NFYIO_ROOT_ACCESS_KEY)."
    if scope == ADMIN:
        return "Requires the `admin` scope."
    return f"Requires the `{scope}` scope (`admin` grants every scope)."


def _with_access(operation: Mapping[str, Any], scope: Access) -> dict[str, Any]:
    """``operation`` with the ``security``, scope sentence and 401/403 of its row, and
    the refusals every row makes: 400 for a query parameter the operation does not have,
    429 for a spent rate limit, and 403 ``TLSRequired`` (``server.require_tls``) for
    credentials sent in clear text."""
    responses = dict(operation["responses"])
    responses.setdefault("400", errors(400)["400"])  # every /v1 row refuses unknown queries
    responses.setdefault("429", errors(429)["429"])  # every /v1 row is rate limited
    if scope is not PUBLIC:
        responses.setdefault("401", errors(401)["401"])
        responses.setdefault("403", errors(403)["403"])
    sentence = _access_sentence(scope)
    description = operation.get("description")
    return {
        **operation,
        "description": f"{sentence} {description}" if description else sentence,
        "security": _security(scope),
        "responses": dict(sorted(responses.items())),
    }


def _apply_routes(paths: dict[str, Any], routes: Sequence[Route]) -> None:
    """Write each documented row's access into its operation; the ``/v1`` operations
    and the documented rows must be the same set."""
    rows = {(row.path, row.method.lower()): row for row in routes if row.documented}
    operations = {
        (path, method)
        for path, item in paths.items()
        if path.startswith("/v1/")
        for method in item
        if method in _HTTP_METHODS
    }
    if operations != set(rows):
        raise ValueError(
            f"route table and OpenAPI differ: undocumented rows {sorted(set(rows) - operations)}"
            f", operations without a row {sorted(operations - set(rows))}"
        )
    for (path, method), row in rows.items():
        paths[path] = {**paths[path], method: _with_access(paths[path][method], row.scope)}


def build_document(fragments: Sequence[Fragment], routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``fragments``, with access taken from ``routes``; a
    path, schema or security scheme defined twice is a programming error."""
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
    _apply_routes(paths, routes)
    responses = {
        name: {
            "description": description,
            "content": {"application/json": {"schema": ref("Error")}},
        }
        for name, description in _ERROR_CODES.values()
    }
    responses["TooManyRequests"]["headers"] = _RATE_LIMIT_HEADERS
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
                "responses": {"200": json_response("The OpenAPI 3.1 document", {"type": "object"})},
            }
        }
    },
    tags=({"name": "meta", "description": "About the API itself"},),
)


def _document(app: web.Application) -> dict[str, Any]:
    cache = app[_DOCUMENT_CACHE]
    if "document" not in cache:
        fragments: list[Fragment] = app[OPENAPI_FRAGMENTS]
        cache["document"] = build_document(fragments, rows_of(app))
    document: dict[str, Any] = cache["document"]
    return document


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(_document(request.app))


def query_parameters(document: Mapping[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(path, METHOD) -> the query parameters the document gives that operation (its
    own and its path's): the one statement of what a route reads from the query."""
    allowed: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            params = [*shared, *operation.get("parameters", [])]
            names = frozenset(p["name"] for p in params if p.get("in") == "query")
            allowed[(path, method.upper())] = names
    return allowed


_QUERY_PARAMETERS: web.AppKey[dict[tuple[str, str], frozenset[str]]] = web.AppKey(
    "openapi_query_parameters"
)


def refuse_unknown_query(request: web.Request, row: Route) -> None:
    """400 ``ValidationError`` for a query parameter the route's documented operation does
    not have, or one given twice: ignored, a misspelt one (``versionId`` for
    ``version_id``, ``prefx``) would make the request do something else than its caller
    meant, with a success; a repeated one reads differently to different readers. Routes
    outside the document (``/health``, the console) are not checked. Cost: one dict
    look-up and a set difference per ``/v1`` request with a query."""
    if not request.query or not row.documented:
        return
    allowed = request.app[_QUERY_PARAMETERS].get((row.path, row.method))
    if allowed is None:
        return
    given = set(request.query)  # each name once
    unknown = sorted(given - allowed)
    if unknown:
        raise ApiError(
            400,
            "ValidationError",
            f"Unknown query parameter '{unknown[0]}'",
            {"field": unknown[0]},
        )
    if len(request.query) != len(given):
        # This server reads the first of a repeated parameter; a proxy or a log reader may
        # read the last: one request, two meanings (as a JSON member given twice).
        twice = min(name for name in given if len(request.query.getall(name)) > 1)
        raise ApiError(
            400,
            "ValidationError",
            f"Query parameter '{twice}' is given more than once",
            {"field": twice},
        )


async def _build_on_startup(app: web.Application) -> None:
    # Built once every fragment is registered: a clash or a row without its operation
    # fails the start rather than the first request for the document.
    app[_QUERY_PARAMETERS] = query_parameters(_document(app))


def install(app: web.Application) -> None:
    """Serve the document of the fragments registered on ``app`` (and this one)."""
    register(app, OPENAPI_FRAGMENT)
    app[_DOCUMENT_CACHE] = {}
    app.on_startup.append(_build_on_startup)
