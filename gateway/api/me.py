"""``GET /v1/me``: who the caller is, as the gateway sees it, and the account it acts for."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.access_keys import iso
from gateway.api.auth import PRINCIPAL
from gateway.state import IDENTITY

__all__ = ["me"]


async def me(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    store = request.app[IDENTITY]
    assert principal.account_id is not None
    account = await store.accounts.cached(principal.account_id)
    body: dict[str, Any] = {
        "kind": principal.kind,
        "subject": principal.subject,
        "key_id": principal.key_id,
        "client_id": principal.client_id,
        "scopes": sorted(principal.scopes),
        "buckets": None if principal.buckets is None else list(principal.buckets),
        "expires_at": iso(principal.expires_at),
        "name": None,
        "account": {
            "id": principal.account_id,
            "name": None if account is None else account.name,
            "canonical_id": principal.canonical_id,
            "display_name": None if account is None else account.display_name,
        },
        "root": principal.root,
    }
    store = request.app[IDENTITY]
    if principal.key_id is not None:
        key = await store.get_key(principal.key_id)
        if key is not None:
            body["name"] = key.name
    elif principal.kind == "user":
        user = await store.users.get(principal.subject)
        if user is not None:
            body["name"] = user.username
    return web.json_response(body)
