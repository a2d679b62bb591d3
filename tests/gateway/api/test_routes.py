"""The API route table: what each route needs, and that the server enforces exactly that.

``EXPECTED`` is written out by hand (like the request-shape table of
``tests/gateway/s3/test_operations.py``), so changing a row's scope fails here until the
change is meant. The other tests run the real application in-process and check, row by
row: it is routed, nothing else outside ``/oauth`` and ``/.well-known`` is, a caller
without credentials gets 401, a caller lacking the row's scope gets 403
``ScopeRequired`` naming it, and a caller holding it gets past the check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.api.routes import ROUTES
from gateway.api.routing import ANY_CALLER, PUBLIC, ROOT, Access, Route
from gateway.app import Shared, make_api_app
from gateway.config import Config, load_config
from gateway.scopes import ALL_SCOPES, grants
from tests.gateway.api.conftest import ADMIN, bearer, error_of, mint

Client = TestClient[Any, Any]

CALLER = "any authenticated caller"
OPEN = "public"
ROOT_ONLY = "the root key"

# (method, path template, who may call: a scope, CALLER, OPEN or ROOT_ONLY)
EXPECTED: list[tuple[str, str, str]] = [
    ("GET", "/health", OPEN),
    ("HEAD", "/health", OPEN),
    ("GET", "/ready", OPEN),
    ("HEAD", "/ready", OPEN),
    ("GET", "/metrics", OPEN),
    ("HEAD", "/metrics", OPEN),
    ("GET", "/v1/openapi.json", OPEN),
    ("GET", "/v1/me", CALLER),
    ("POST", "/v1/access-keys", CALLER),
    ("GET", "/v1/access-keys", CALLER),
    ("GET", "/v1/access-keys/{key_id}", CALLER),
    ("DELETE", "/v1/access-keys/{key_id}", CALLER),
    ("POST", "/v1/access-keys/{key_id}/rotate", CALLER),
    ("GET", "/v1/buckets", "read:buckets"),
    ("POST", "/v1/buckets", "write:buckets"),
    ("DELETE", "/v1/buckets/{name}", "write:buckets"),
    ("GET", "/v1/buckets/{name}/objects", "read:objects"),
    ("PUT", "/v1/buckets/{name}/objects/content", "write:objects"),
    ("GET", "/v1/buckets/{name}/objects/content", "read:objects"),
    ("DELETE", "/v1/buckets/{name}/objects/content", "delete:objects"),
    ("POST", "/v1/buckets/{name}/objects/presign", "read:objects"),
    ("POST", "/v1/users", "admin"),
    ("GET", "/v1/users", "admin"),
    ("GET", "/v1/users/{user_id}", "admin"),
    ("PATCH", "/v1/users/{user_id}", "admin"),
    ("DELETE", "/v1/users/{user_id}", "admin"),
    ("POST", "/v1/clients", "admin"),
    ("GET", "/v1/clients", "admin"),
    ("GET", "/v1/clients/{client_id}", "admin"),
    ("DELETE", "/v1/clients/{client_id}", "admin"),
    ("GET", "/v1/audit-events", "admin"),
    ("POST", "/v1/accounts", ROOT_ONLY),
    ("GET", "/v1/accounts", ROOT_ONLY),
    ("GET", "/v1/accounts/{account_id}", ROOT_ONLY),
    ("PATCH", "/v1/accounts/{account_id}", ROOT_ONLY),
    ("DELETE", "/v1/accounts/{account_id}", ROOT_ONLY),
    # The web console: its files, and its session endpoint, which checks its own cookie
    # and origin (tests/gateway/api/test_console_session.py).
    ("GET", "/", OPEN),
    ("GET", "/console", OPEN),
    ("GET", "/console/", OPEN),
    ("GET", "/console/settings.json", OPEN),
    ("GET", "/console/static/{path:[A-Za-z0-9_./-]+}", OPEN),
    ("POST", "/console/session", OPEN),
    ("DELETE", "/console/session", OPEN),
    ("POST", "/console/session/refresh", OPEN),
]

SCOPED = [(m, p, s) for m, p, s in EXPECTED if s not in (CALLER, OPEN, ROOT_ONLY)]
ROOT_ROWS = [(m, p, s) for m, p, s in EXPECTED if s == ROOT_ONLY]
AUTHENTICATED = [(m, p, s) for m, p, s in EXPECTED if s != OPEN]


def _access(scope: Access) -> str:
    if scope is PUBLIC:
        return OPEN
    if scope is ROOT:
        return ROOT_ONLY
    return CALLER if scope is ANY_CALLER else scope


def _url(path: str) -> str:
    """A concrete URL for a template: names that exist nowhere, so nothing is changed."""
    return re.sub(r"\{[a-z_]+(:[^}]+)?\}", "no-such-thing", path)


def _canonical(path: str) -> str:
    """A template as aiohttp names its resource: ``{path:regex}`` is ``{path}``."""
    return re.sub(r"\{([a-z_]+):[^}]+\}", r"{\1}", path)


def _routed(api: Client) -> dict[tuple[str, str], Any]:
    """(method, template) -> handler of every route outside the OAuth endpoints."""
    routed = {}
    for route in api.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not path.startswith(("/oauth/", "/.well-known/")):
            routed[(route.method, path)] = route.handler
    return routed


def test_table_is_the_expected_access() -> None:
    rows = [(row.method, row.path, _access(row.scope)) for row in ROUTES]
    assert len({(m, p) for m, p, _ in rows}) == len(rows), "a method and path routed twice"
    assert sorted(rows) == sorted(EXPECTED)
    assert all(scope in ALL_SCOPES for _, _, scope in SCOPED)


async def test_every_row_is_routed_and_every_route_is_a_row(api: Client) -> None:
    routed = _routed(api)
    assert set(routed) == {(m, _canonical(row.path)) for row in ROUTES for m in row.methods}
    for row in ROUTES:
        for method in row.methods:
            assert routed[(method, _canonical(row.path))] is row.handler, row
    # A /v1 GET row answers HEAD too; no other row does beyond its own method.
    assert ("HEAD", "/v1/me") in routed and ("HEAD", "/console") not in routed


@pytest.fixture
def config_without_metrics(tmp_path: Path) -> Config:
    return load_config(
        env={
            "NFYIO_DATA_DIR": str(tmp_path / "data"),
            "NFYIO_FSYNC": "false",
            "NFYIO_SERVER_METRICS": "false",
        }
    )


async def test_disabled_rows_are_not_routed(
    config_without_metrics: Config, aiohttp_client: Any
) -> None:
    api: Client = await aiohttp_client(make_api_app(Shared(config_without_metrics)))
    enabled: list[Route] = [r for r in ROUTES if r.path != "/metrics"]
    assert set(_routed(api)) == {(m, _canonical(row.path)) for row in enabled for m in row.methods}
    assert (await error_of(await api.get("/metrics"), 404))["code"] == "NotFound"


CONSOLE_SESSION = "/console/session"
"""Public to the access middleware; the endpoint demands its own cookie and origin."""


async def test_public_rows_need_no_credentials(api: Client) -> None:
    for method, path, _ in [row for row in EXPECTED if row[2] == OPEN]:
        if path.startswith(CONSOLE_SESSION):
            continue
        url = "/console/static/console.css" if "{path" in path else _url(path)
        response = await api.request(method, url)
        assert response.status == 200, (method, path, response.status)


async def test_authenticated_rows_refuse_missing_or_unknown_credentials(api: Client) -> None:
    for method, path, _ in AUTHENTICATED:
        response = await api.request(method, _url(path))
        error = await error_of(response, 401)
        assert error["code"] == "Unauthorized", (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        response = await api.request(method, _url(path), headers=bearer("sk_unknown"))
        assert (await error_of(response, 401))["code"] == "InvalidApiKey", (method, path)


async def test_scoped_rows_refuse_a_caller_lacking_the_scope(api: Client) -> None:
    for method, path, scope in SCOPED:
        # Every scope that does not grant this one (admin grants all, write:objects
        # grants delete:objects), so only the row's own scope is missing.
        others = sorted(s for s in ALL_SCOPES if not grants([s], scope))
        key = await mint(api, scopes=others)
        response = await api.request(method, _url(path), headers=bearer(key["secret"]))
        error = await error_of(response, 403)
        assert error["code"] == "ScopeRequired", (method, path)
        assert error["details"] == {"required_scope": scope}, (method, path)


async def test_scoped_rows_accept_a_caller_holding_the_scope(api: Client) -> None:
    for method, path, scope in SCOPED:
        key = await mint(api, scopes=[scope])
        response = await api.request(method, _url(path), headers=bearer(key["secret"]))
        # Past the access check: whatever the handler answers for a thing that does not
        # exist or an empty body, it is not an authentication or scope refusal.
        assert response.status not in (401, 403), (method, path, await response.text())


async def test_any_caller_rows_accept_a_caller_with_an_unrelated_scope(api: Client) -> None:
    key = await mint(api, scopes=["read:agents"])
    for method, path, _ in [row for row in EXPECTED if row[2] == CALLER]:
        response = await api.request(method, _url(path), headers=bearer(key["secret"]))
        assert response.status not in (401, 403), (method, path, await response.text())


async def test_admin_passes_every_row(api: Client) -> None:
    for method, path, _ in AUTHENTICATED:
        response = await api.request(method, _url(path), headers=ADMIN)
        assert response.status not in (401, 403), (method, path, await response.text())


async def test_root_rows_refuse_every_other_admin(api: Client) -> None:
    """An admin key of the system account (not the root key) is refused; so is an
    account's own admin key; the root key passes."""
    system_admin = await mint(api, scopes=["admin"])
    created = await api.post("/v1/accounts", json={"name": "tenant"}, headers=ADMIN)
    assert created.status == 201, await created.text()
    tenant_admin = (await created.json())["admin_key"]
    for method, path, _ in ROOT_ROWS:
        for key in (system_admin, tenant_admin):
            response = await api.request(method, _url(path), headers=bearer(key["secret"]))
            assert (await error_of(response, 403))["code"] == "RootRequired", (method, path)
        response = await api.request(method, _url(path), headers=ADMIN)
        assert response.status not in (401, 403), (method, path, await response.text())
