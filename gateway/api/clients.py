"""``/v1/clients``: OAuth clients (who may call: the route table, ``gateway/api/routes.py``).

The secret is in the create response only. Clients belong to the account of the admin
that registers them; another account's clients answer 404; a client logs in only the
users of its own account.

Deleting a client deletes its sessions: every token issued to it stops at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.access_keys import iso
from gateway.api.auth import PRINCIPAL, caller_account
from gateway.api.cursors import issue_cursor, read_cursor
from gateway.api.errors import ApiError
from gateway.api.key_policy import check_unbounded
from gateway.api.validation import (
    invalid,
    optional_str_list,
    query_limit,
    read_json_object,
    required_str,
)
from gateway.audit.http import set_target
from gateway.identity import key_rules
from gateway.identity.clients import DEFAULT_GRANT_TYPES, OAuthClient, validate_grant_types
from gateway.state import CONFIG, IDENTITY

__all__ = ["client_json", "create_client", "delete_client", "get_client", "list_clients"]


def client_json(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "name": client.name,
        "grant_types": list(client.grant_types),
        "scopes": sorted(client.scopes),
        "created_at": iso(client.created_at),
        "account_id": client.account_id,
    }


async def create_client(request: web.Request) -> web.Response:
    body = await read_json_object(request, allowed=("name", "grant_types", "scopes"))
    check_unbounded(request[PRINCIPAL], "OAuth clients")
    name = required_str(body, "name")
    grant_types = optional_str_list(body, "grant_types")
    if grant_types is not None and not grant_types:
        # Not the defaults: a form whose every grant type was unticked asked for none, and
        # a client it did not ask for (password sign-ins) would be registered in silence.
        raise invalid(
            "grant_types",
            "A client needs at least one grant type (omit 'grant_types' for password and"
            " refresh_token)",
        )
    scopes = optional_str_list(body, "scopes")
    if scopes is None:
        raise invalid("scopes", "'scopes' is required")
    if not scopes:  # its tokens carry at most its scopes: they could do nothing
        raise invalid("scopes", "A client needs at least one scope")
    grant_types = grant_types or list(DEFAULT_GRANT_TYPES)
    for field, items in (("grant_types", grant_types), ("scopes", scopes)):
        if len(set(items)) != len(items):
            raise invalid(field, f"'{field}' lists a value twice")
    checks: list[tuple[str, Any]] = [
        ("name", lambda: key_rules.validate_name(name)),
        ("grant_types", lambda: validate_grant_types(grant_types)),
        ("scopes", lambda: key_rules.validate_scopes(scopes)),
    ]
    for field, check in checks:
        try:
            check()
        except (ValueError, TypeError) as exc:
            # The validators' messages name the field and what it may hold, never the
            # value (tests/security/test_rest_no_echo.py).
            raise invalid(field, str(exc)) from None
    client, secret = await request.app[IDENTITY].clients.create(
        name,
        grant_types=grant_types,
        scopes=scopes,
        account_id=caller_account(request),
        most=request.app[CONFIG].identity.max_clients_per_account,
    )
    set_target(request, "client", client.id, grant_types=sorted(client.grant_types))
    return web.json_response({**client_json(client), "client_secret": secret}, status=201)


async def list_clients(request: web.Request) -> web.Response:
    limit = query_limit(request, default=50, maximum=1000)
    cursor = read_cursor(request)
    page, next_cursor = await request.app[IDENTITY].clients.list_page(
        account=caller_account(request), limit=limit, cursor=cursor
    )
    return web.json_response(
        {
            "clients": [client_json(c) for c in page],
            "next_cursor": issue_cursor(request, next_cursor),
        }
    )


async def _client_or_404(request: web.Request) -> OAuthClient:
    """The client named, in the caller's account: another account's clients do not exist."""
    client = await request.app[IDENTITY].clients.get(request.match_info["client_id"])
    if client is None or client.account_id != caller_account(request):
        raise ApiError(404, "NotFound", "No such client", {"field": "client_id"})
    return client


async def get_client(request: web.Request) -> web.Response:
    return web.json_response(client_json(await _client_or_404(request)))


async def delete_client(request: web.Request) -> web.Response:
    client = await _client_or_404(request)
    if not await request.app[IDENTITY].clients.delete(client.id):
        raise ApiError(404, "NotFound", "No such client", {"field": "client_id"})
    return web.Response(status=204)
