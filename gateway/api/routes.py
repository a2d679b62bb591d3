"""The API listener's route table: every route outside ``/oauth`` and ``/.well-known``.

One row per method and path: the handler and who may call it (a scope, ``ANY_CALLER``,
``PUBLIC`` or ``ROOT``; see :mod:`gateway.api.routing`). The router, the access middleware
(:mod:`gateway.api.auth`) and the OpenAPI ``security`` of each operation
(:mod:`gateway.api.openapi`) all read these rows; a new route is one more row here plus its
operation in an OpenAPI fragment (``spec_v1.py``, ``spec_identity.py``).
``tests/gateway/api/test_routes.py`` pins every row's scope and checks that the server
enforces it.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api import (
    access_keys,
    accounts,
    audit,
    buckets,
    clients,
    health,
    me,
    objects,
    openapi,
    presign,
    spec_accounts,
    spec_identity,
    spec_objects,
    spec_ops,
    spec_v1,
    users,
)
from gateway.api.routing import ANY_CALLER, PUBLIC, ROOT, Route, register
from gateway.config import Config
from gateway.console import assets, session
from gateway.metrics import scrape
from gateway.scopes import (
    ADMIN,
    DELETE_OBJECTS,
    READ_BUCKETS,
    READ_OBJECTS,
    WRITE_BUCKETS,
    WRITE_OBJECTS,
)
from gateway.state import CONFIG

__all__ = ["ROUTES", "add_routes"]


def _metrics_on(config: Config) -> bool:
    return config.server.metrics


def _console_on(config: Config) -> bool:
    return config.console.enabled


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", health.health, PUBLIC),
    Route("HEAD", "/health", health.health, PUBLIC),
    Route("GET", "/ready", health.ready, PUBLIC),
    Route("HEAD", "/ready", health.ready, PUBLIC),
    Route("GET", "/metrics", scrape, PUBLIC, when=_metrics_on),
    Route("HEAD", "/metrics", scrape, PUBLIC, when=_metrics_on),
    Route("GET", "/v1/openapi.json", openapi.openapi_document, PUBLIC),
    Route("GET", "/v1/me", me.me, ANY_CALLER),
    # Any caller manages its own keys; key_policy limits what it may mint or see.
    Route("POST", "/v1/access-keys", access_keys.create_key, ANY_CALLER, audit="access_key.create"),
    Route("GET", "/v1/access-keys", access_keys.list_keys, ANY_CALLER),
    Route("GET", "/v1/access-keys/{key_id}", access_keys.get_key, ANY_CALLER),
    Route(
        "DELETE",
        "/v1/access-keys/{key_id}",
        access_keys.revoke_key,
        ANY_CALLER,
        audit="access_key.revoke",
    ),
    Route(
        "POST",
        "/v1/access-keys/{key_id}/rotate",
        access_keys.rotate_key,
        ANY_CALLER,
        audit="access_key.rotate",
    ),
    Route("GET", "/v1/buckets", buckets.list_buckets, READ_BUCKETS),
    Route("POST", "/v1/buckets", buckets.create_bucket, WRITE_BUCKETS, audit="bucket.create"),
    Route(
        "DELETE", "/v1/buckets/{name}", buckets.delete_bucket, WRITE_BUCKETS, audit="bucket.delete"
    ),
    Route("GET", "/v1/buckets/{name}/objects", objects.list_objects, READ_OBJECTS),
    # Answers Expect: 100-continue itself, after the bucket policy's decision.
    Route(
        "PUT",
        "/v1/buckets/{name}/objects/content",
        objects.upload_object,
        WRITE_OBJECTS,
        own_continue=True,
    ),
    Route("GET", "/v1/buckets/{name}/objects/content", objects.download_object, READ_OBJECTS),
    Route("DELETE", "/v1/buckets/{name}/objects/content", objects.delete_object, DELETE_OBJECTS),
    # Signed with the caller's own access key, which must hold read:objects for the URL
    # to work: see gateway/api/presign.py.
    Route("POST", "/v1/buckets/{name}/objects/presign", presign.presign_object, READ_OBJECTS),
    Route("POST", "/v1/users", users.create_user, ADMIN, audit="user.create"),
    Route("GET", "/v1/users", users.list_users, ADMIN),
    Route("GET", "/v1/users/{user_id}", users.get_user, ADMIN),
    Route("PATCH", "/v1/users/{user_id}", users.update_user, ADMIN, audit="user.update"),
    Route("DELETE", "/v1/users/{user_id}", users.delete_user, ADMIN, audit="user.delete"),
    Route("POST", "/v1/clients", clients.create_client, ADMIN, audit="client.create"),
    Route("GET", "/v1/clients", clients.list_clients, ADMIN),
    Route("GET", "/v1/clients/{client_id}", clients.get_client, ADMIN),
    Route("DELETE", "/v1/clients/{client_id}", clients.delete_client, ADMIN, audit="client.delete"),
    # The audit log: an account's admins read its events, the root key every account's.
    Route("GET", "/v1/audit-events", audit.list_events, ADMIN),
    # Accounts: the root key from the environment only. Every other row acts inside the
    # caller's account (admin: of that account).
    Route("POST", "/v1/accounts", accounts.create_account, ROOT, audit="account.create"),
    Route("GET", "/v1/accounts", accounts.list_accounts, ROOT),
    Route("GET", "/v1/accounts/{account_id}", accounts.get_account, ROOT),
    Route(
        "PATCH",
        "/v1/accounts/{account_id}",
        accounts.update_account,
        ROOT,
        audit="account.update",
    ),
    Route(
        "DELETE",
        "/v1/accounts/{account_id}",
        accounts.delete_account,
        ROOT,
        audit="account.delete",
    ),
    # The web console (docs/console.md): static files, and its session endpoint, which
    # authenticates by its own cookie and same-origin checks (gateway/console/session.py).
    Route("GET", "/", assets.redirect_to_console, PUBLIC, when=_console_on),
    Route("GET", "/console", assets.index, PUBLIC, when=_console_on),
    Route("GET", "/console/", assets.redirect_to_console, PUBLIC, when=_console_on),
    Route("GET", "/console/settings.json", assets.settings, PUBLIC, when=_console_on),
    Route("GET", "/console/static/{path:[A-Za-z0-9_./-]+}", assets.asset, PUBLIC, when=_console_on),
    Route("POST", "/console/session", session.sign_in, PUBLIC, when=_console_on),
    Route("DELETE", "/console/session", session.sign_out, PUBLIC, when=_console_on),
    Route("POST", "/console/session/refresh", session.refresh, PUBLIC, when=_console_on),
)


def add_routes(app: web.Application) -> None:
    """Route every enabled row and serve the OpenAPI document describing them."""
    register(app, ROUTES, app[CONFIG])
    openapi.install(app)
    openapi.register(app, spec_v1.FRAGMENT)
    openapi.register(app, spec_identity.FRAGMENT)
    openapi.register(app, spec_accounts.FRAGMENT)
    openapi.register(app, spec_objects.FRAGMENT)
    openapi.register(app, spec_ops.FRAGMENT)
