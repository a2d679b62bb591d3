"""The OpenAPI document: served without credentials, covers every /v1 route."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.api import openapi, spec_accounts, spec_identity, spec_v1
from gateway.api.routes import ROUTES
from gateway.api.routing import PUBLIC, ROOT, Access, Route
from gateway.scopes import ADMIN, ALL_SCOPES
from tests.gateway.api.conftest import ADMIN as ROOT_HEADERS

Client = TestClient[Any, Any]
REPO = Path(__file__).resolve().parents[3]


async def test_document_is_openapi_31_without_auth(api: Client) -> None:
    response = await api.get("/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert document["paths"]["/v1/openapi.json"]["get"]["security"] == []
    assert {"bearerAuth", "apiKeyAuth"} <= set(document["components"]["securitySchemes"])


async def test_every_v1_route_is_documented(api: Client) -> None:
    document = await (await api.get("/v1/openapi.json")).json()
    routed = set()
    for route in api.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if (
            path
            and path.startswith(("/v1/", "/oauth/", "/.well-known/"))
            and route.method != "HEAD"
        ):
            routed.add((path, route.method.lower()))
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert routed == documented


async def test_every_operation_documents_its_errors_and_ids(api: Client) -> None:
    document = await (await api.get("/v1/openapi.json")).json()
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            ids.append(operation["operationId"])
            if operation.get("security") != []:
                assert "401" in operation["responses"], (path, method)
    assert len(ids) == len(set(ids))


_DOC_ROW = Route("GET", "/v1/openapi.json", openapi.openapi_document, PUBLIC)


def test_fragments_merge_and_clash() -> None:
    extra = openapi.Fragment(paths={"/oauth/token": {"post": {}}}, schemas={"Token": {}})
    document = openapi.build_document([openapi.OPENAPI_FRAGMENT, extra], [_DOC_ROW])
    assert "/oauth/token" in document["paths"] and "Token" in document["components"]["schemas"]
    with pytest.raises(ValueError, match="twice"):
        openapi.build_document([extra, extra], [_DOC_ROW])


def test_rows_and_v1_operations_must_match() -> None:
    """A /v1 row without its operation, or an operation without a row, fails the start."""
    undocumented = Route("GET", "/v1/things", openapi.openapi_document, "read:buckets")
    with pytest.raises(ValueError, match=r"undocumented rows.*/v1/things"):
        openapi.build_document([openapi.OPENAPI_FRAGMENT], [_DOC_ROW, undocumented])
    with pytest.raises(ValueError, match=r"without a row.*/v1/openapi\.json"):
        openapi.build_document([openapi.OPENAPI_FRAGMENT], [])


def _expected_security(scope: Access) -> list[dict[str, list[str]]]:
    if scope is PUBLIC:
        return []
    roles = [] if scope is None else ["admin"] if scope is ROOT else [scope]
    return [{"bearerAuth": roles}, {"apiKeyAuth": roles}]


async def test_security_and_scope_text_come_from_the_route_table(api: Client) -> None:
    document = await (await api.get("/v1/openapi.json")).json()
    for row in ROUTES:
        if not row.documented:
            continue
        operation = document["paths"][row.path][row.method.lower()]
        assert operation["security"] == _expected_security(row.scope), row
        if isinstance(row.scope, str):
            assert f"`{row.scope}`" in operation["description"], row
            assert "403" in operation["responses"], row
        if row.scope is ROOT:
            assert "root key" in operation["description"], row
            assert "403" in operation["responses"], row
        if row.scope is not PUBLIC:
            assert "401" in operation["responses"], row


def test_fragments_do_not_name_scopes() -> None:
    """Scopes are written once, in the route table: the /v1 fragments carry no
    ``security`` and no scope name in their prose."""
    scope_names = ALL_SCOPES - {ADMIN}  # "admin" is also an English word ("all for admin")
    fragments = (
        spec_v1.FRAGMENT,
        spec_identity.FRAGMENT,
        spec_accounts.FRAGMENT,
        openapi.OPENAPI_FRAGMENT,
    )
    for fragment in fragments:
        for path, item in fragment.paths.items():
            for method, operation in item.items():
                if method == "parameters":
                    continue
                assert "security" not in operation, (path, method)
                prose = f"{operation.get('summary', '')} {operation.get('description', '')}"
                assert not [s for s in scope_names if s in prose], (path, method)
                assert "(admin)" not in prose, (path, method)


def test_register_collects_fragments() -> None:
    app = web.Application()
    fragment = openapi.Fragment(paths={"/x": {}})
    openapi.register(app, fragment)
    openapi.register(app, fragment)
    assert app[openapi.OPENAPI_FRAGMENTS] == [fragment, fragment]


async def test_every_operation_declares_the_refusals_every_route_makes(api: Client) -> None:
    """Any /v1 route answers 400 ``ValidationError`` to a query parameter it does not have
    (docs/api.md, "Unknown query parameters are rejected"), and any authenticated one 403
    ``TLSRequired`` under ``server.require_tls``: each operation declares both, so a
    client generated from the document knows the answer it gets."""
    document = await (await api.get("/v1/openapi.json")).json()
    for row in ROUTES:
        if not row.documented or not row.path.startswith("/v1/"):
            continue
        operation = document["paths"][row.path][row.method.lower()]
        assert "400" in operation["responses"], row
        if row.scope is not PUBLIC:
            assert "403" in operation["responses"], row
        if row.method != "GET" or "{" in row.path:
            continue
        response = await api.get(row.path, params={"no-such-parameter": "1"}, headers=ROOT_HEADERS)
        assert response.status == 400, row
        body = await response.json()
        assert body["error"]["code"] == "ValidationError", body
        assert body["error"]["details"]["field"] == "no-such-parameter", body


_DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))


def test_the_docs_name_only_routes_that_exist_and_every_v1_route() -> None:
    """Every ``/v1/...`` path README.md and docs/*.md name is a row of the route table
    (placeholders aside), and every ``/v1`` row is named somewhere in them."""
    placeholder = r"(?:\{[^}/]*\}|\$\{?\w+\}?|\.\.\.|[^/\s`]+)"
    text = "\n".join(page.read_text() for page in _DOCS)
    routes = {
        row.path: re.compile(
            re.sub(r"\\\{[^}]*\\\}", lambda _: placeholder, re.escape(row.path)) + r"\Z"
        )
        for row in ROUTES
        if row.path.startswith("/v1/")
    }
    named = set(re.findall(r"(?<![\w/])/v1/[\w{}$./-]*[\w}]", text))
    assert [path for path in named if not any(p.match(path) for p in routes.values())] == []
    assert [p for p, pattern in routes.items() if not any(pattern.match(n) for n in named)] == []


async def test_oauth_operations_leave_the_basic_header_optional(api: Client) -> None:
    """``/oauth/*`` authenticate a client by Basic or by ``client_id`` and
    ``client_secret`` in the form (client_secret_post): the document must not call the
    Basic header required, or a request authenticated in its body reads as one that got
    through without credentials."""
    document = await (await api.get("/v1/openapi.json")).json()
    oauth = {p: item["post"] for p, item in document["paths"].items() if p.startswith("/oauth/")}
    assert set(oauth) == {"/oauth/token", "/oauth/revoke", "/oauth/introspect"}
    for path, operation in oauth.items():
        assert operation["security"] == [{"clientBasic": []}, {}], path
        fields = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
        assert {"client_id", "client_secret"} <= set(fields["schema"]["properties"]), path
