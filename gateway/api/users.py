"""``/v1/users``: OAuth users (who may call: the route table, ``gateway/api/routes.py``).

Users belong to the account of the admin that creates them; another account's users
answer 404 like users that do not exist. Usernames are unique in the whole gateway.

Disabling a user (``PATCH {"disabled": true}``), changing its password or deleting it
revokes its sessions: its refresh tokens and access tokens stop at once. Scope changes
apply at once too: a token's scopes are cut to what the user still holds.
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
    nothing_to_update,
    optional_bool,
    optional_str_list,
    query_limit,
    read_json_object,
    required_str,
)
from gateway.audit import actions
from gateway.audit.http import AUDIT_ACTIONS, AUDIT_DETAILS, set_target
from gateway.identity.key_rules import validate_scopes
from gateway.identity.users import (
    DuplicateUserError,
    User,
    validate_password,
    validate_roles,
    validate_username,
)
from gateway.state import CONFIG, IDENTITY

__all__ = [
    "create_user",
    "delete_user",
    "get_user",
    "iso",
    "list_users",
    "update_user",
    "user_json",
]


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "scopes": sorted(user.scopes),
        "roles": list(user.roles),
        "disabled": not user.is_active,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "disabled_at": iso(user.disabled_at),
        "account_id": user.account_id,
    }


def _checked(field: str, fn: Any, value: Any) -> Any:
    """``fn(value)``, or 400 naming ``field`` with ``fn``'s message: the validators of
    ``gateway.identity`` name the field and what it may hold, never the value (a secret
    pasted into the wrong field must not come back: tests/security/test_rest_no_echo.py)."""
    try:
        return fn(value)
    except (ValueError, TypeError) as exc:
        raise invalid(field, str(exc)) from None


def _scopes(body: dict[str, Any], *, required: bool) -> list[str] | None:
    scopes = optional_str_list(body, "scopes")
    if scopes is None:
        if required:
            raise invalid("scopes", "'scopes' is required")
        return None
    if len(set(scopes)) != len(scopes):
        raise invalid("scopes", "'scopes' lists a scope twice")
    _checked("scopes", validate_scopes, scopes)
    return scopes


def _roles(body: dict[str, Any]) -> list[str] | None:
    roles = optional_str_list(body, "roles")
    if roles is not None:
        _checked("roles", validate_roles, roles)
    return roles


async def create_user(request: web.Request) -> web.Response:
    body = await read_json_object(request, allowed=("username", "password", "scopes", "roles"))
    check_unbounded(request[PRINCIPAL], "users")
    username = _checked("username", validate_username, required_str(body, "username"))
    password = _checked("password", validate_password, required_str(body, "password"))
    scopes = _scopes(body, required=True)
    assert scopes is not None
    roles = _roles(body) or []
    try:
        user = await request.app[IDENTITY].users.create(
            username,
            password,
            scopes,
            account_id=caller_account(request),
            roles=roles,
            most=request.app[CONFIG].identity.max_users_per_account,
        )
    except DuplicateUserError:
        raise ApiError(409, "Conflict", "The username is taken", {"field": "username"}) from None
    set_target(
        request,
        "user",
        user.id,
        username=user.username,
        scopes=sorted(user.scopes),
        roles=list(user.roles),
    )
    return web.json_response(user_json(user), status=201)


async def list_users(request: web.Request) -> web.Response:
    limit = query_limit(request, default=50, maximum=1000)
    cursor = read_cursor(request)
    page, next_cursor = await request.app[IDENTITY].users.list_page(
        account=caller_account(request), limit=limit, cursor=cursor
    )
    return web.json_response(
        {"users": [user_json(u) for u in page], "next_cursor": issue_cursor(request, next_cursor)}
    )


async def _user_or_404(request: web.Request) -> User:
    """The user named, in the caller's account: another account's users do not exist."""
    user = await request.app[IDENTITY].users.get(request.match_info["user_id"])
    if user is None or user.account_id != caller_account(request):
        raise ApiError(404, "NotFound", "No such user", {"field": "user_id"})
    return user


async def get_user(request: web.Request) -> web.Response:
    return web.json_response(user_json(await _user_or_404(request)))


_UPDATABLE = ("disabled", "scopes", "password", "roles")


def _update_actions(disabled: bool | None, changed: bool, password: str | None) -> tuple[str, ...]:
    """The audit actions of a PATCH: each kind of change is its own event."""
    found = []
    if disabled is True:
        found.append(actions.USER_DISABLE)
    elif disabled is False:
        found.append(actions.USER_ENABLE)
    if password is not None:
        found.append(actions.USER_PASSWORD_CHANGE)
    if changed or not found:
        found.append(actions.USER_UPDATE)
    return tuple(found)


async def update_user(request: web.Request) -> web.Response:
    body = await read_json_object(request, allowed=_UPDATABLE)
    disabled = optional_bool(body, "disabled")
    scopes = _scopes(body, required=False)
    roles = _roles(body)
    if disabled is None and scopes is None and roles is None and body.get("password") is None:
        raise nothing_to_update(_UPDATABLE)
    request[AUDIT_ACTIONS] = _update_actions(
        disabled, scopes is not None or roles is not None, body.get("password")
    )
    request[AUDIT_DETAILS] = {
        name: value
        for name, value in (("scopes", scopes), ("roles", roles), ("disabled", disabled))
        if value is not None
    }
    if body.keys() != {"disabled"} or disabled is not True:
        # Disabling only narrows; anything else (scopes, roles, a password the caller
        # then knows, re-enabling) hands out what the caller may not hold.
        check_unbounded(request[PRINCIPAL], "users")
    password = body.get("password")
    if password is not None:
        if not isinstance(password, str):
            raise invalid("password", "'password' must be a string")
        _checked("password", validate_password, password)
    target = await _user_or_404(request)
    user = await request.app[IDENTITY].users.update(
        target.id, disabled=disabled, scopes=scopes, password=password, roles=roles
    )
    if user is None:
        raise ApiError(404, "NotFound", "No such user", {"field": "user_id"})
    return web.json_response(user_json(user))


async def delete_user(request: web.Request) -> web.Response:
    target = await _user_or_404(request)
    if not await request.app[IDENTITY].users.delete(target.id):
        raise ApiError(404, "NotFound", "No such user", {"field": "user_id"})
    return web.Response(status=204)
