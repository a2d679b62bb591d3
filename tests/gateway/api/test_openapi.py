"""The OpenAPI document: served without credentials, covers every /v1 route."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.api import openapi

Client = TestClient[Any, Any]


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


def test_fragments_merge_and_clash() -> None:
    extra = openapi.Fragment(paths={"/oauth/token": {"post": {}}}, schemas={"Token": {}})
    document = openapi.build_document([openapi.OPENAPI_FRAGMENT, extra])
    assert "/oauth/token" in document["paths"] and "Token" in document["components"]["schemas"]
    with pytest.raises(ValueError, match="twice"):
        openapi.build_document([extra, extra])


def test_register_collects_fragments() -> None:
    app = web.Application()
    fragment = openapi.Fragment(paths={"/x": {}})
    openapi.register(app, fragment)
    openapi.register(app, fragment)
    assert app[openapi.OPENAPI_FRAGMENTS] == [fragment, fragment]
