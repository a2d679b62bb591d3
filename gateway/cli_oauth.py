"""``nfyio-gateway users|clients|jwt ...``: OAuth users, clients and signing keys.

Works directly on the identity store in the data directory (``--data-dir`` / ``--config``
as for ``serve``); safe while the gateway runs. Output is one JSON document (``list``: an
array, ``[]`` when empty; ``delete`` and ``jwt remove``: nothing). Exit status: 0 done,
1 refused (unknown user/client/key/account, the active signing key, duplicate username;
stderr says which), 2 bad arguments. ``users create`` and ``clients create`` make a user or
client of the system account unless ``--account`` names another.

Passwords are never taken from the command line (they would show in ``ps`` and shell
history): ``--password-stdin`` reads one line from standard input, otherwise the
terminal prompts (without a terminal, the command refuses: exit status 2).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.api.clients import client_json
from gateway.api.users import iso, user_json
from gateway.audit import actions
from gateway.audit.operator import record_operator
from gateway.config import Config
from gateway.identity.clients import DEFAULT_GRANT_TYPES, GRANT_TYPES
from gateway.identity.store import IdentityStore
from gateway.identity.users import DuplicateUserError, User
from gateway.oauth.settings import OAuthSettings
from gateway.principal import SYSTEM_ACCOUNT_ID

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("users", "clients", "jwt")


def _scope_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--scope",
        action="append",
        required=required,
        dest="scopes",
        help="a scope (repeat for several): read:objects, admin, ...",
    )


def _leaf(
    group: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> Callable[..., argparse.ArgumentParser]:
    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(name, **kwargs)
        add_config_options(parser)
        return parser

    return add


def _account_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--account",
        default=SYSTEM_ACCOUNT_ID,
        help=f"the account the {what} acts for (default: {SYSTEM_ACCOUNT_ID})",
    )


def _role_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role",
        action="append",
        dest="roles",
        help="a role name for the tokens' roles claim (repeatable; none: no roles)",
    )


def add_parsers(
    commands: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    users = commands.add_parser("users", help="OAuth users (password grant)")
    u_group = users.add_subparsers(dest="sub", required=True)
    u = _leaf(u_group, add_config_options)
    create = u("create", help="create a user")
    create.add_argument("username")
    _scope_option(create, required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    _role_option(create)
    _account_option(create, "user")
    u("list", help="list users")
    for name, text in (
        ("disable", "disable a user: its tokens stop at once"),
        ("enable", "enable a disabled user (old sessions stay revoked)"),
        ("delete", "delete a user and its sessions"),
        ("set-password", "set a new password (revokes the user's sessions)"),
        ("set-scopes", "replace the user's scopes"),
        ("set-roles", "replace the user's roles (the roles claim of its tokens)"),
    ):
        cmd = u(name, help=text)
        cmd.add_argument("user", help="user id (usr_...) or username")
        if name == "set-password":
            cmd.add_argument("--password-stdin", action="store_true")
        if name == "set-scopes":
            _scope_option(cmd, required=True)
        if name == "set-roles":
            _role_option(cmd)

    clients = commands.add_parser("clients", help="OAuth clients")
    c_group = clients.add_subparsers(dest="sub", required=True)
    c = _leaf(c_group, add_config_options)
    ccreate = c("create", help="register a client; its secret is printed once")
    ccreate.add_argument("--name", required=True)
    _scope_option(ccreate, required=True)
    ccreate.add_argument(
        "--grant-type",
        action="append",
        dest="grant_types",
        choices=GRANT_TYPES,
        help=f"repeatable (default: {' '.join(DEFAULT_GRANT_TYPES)})",
    )
    _account_option(ccreate, "client")
    c("list", help="list clients")
    cdelete = c("delete", help="delete a client and every token issued to it")
    cdelete.add_argument("client_id")

    jwt_cmd = commands.add_parser("jwt", help="access-token signing keys")
    j_group = jwt_cmd.add_subparsers(dest="sub", required=True)
    j = _leaf(j_group, add_config_options)
    j("rotate", help="add a new signing key and make it active")
    j("list", help="list signing keys")
    j("prune", help="delete retired keys whose overlap has ended")
    jremove = j("remove", help="delete a retired key now (its tokens stop)")
    jremove.add_argument(
        "kid", help="a kid that begins with '-' (made before kid_ ids) goes after '--'"
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        # getpass would fall back to reading (and echoing) stdin, then fail at its end.
        raise ValueError("no terminal to ask for the password on: use --password-stdin")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError:
        raise ValueError("no password given") from None
    if again != first:
        raise ValueError("the passwords differ")
    return first


def _refuse(message: str) -> int:
    print(f"nfyio-gateway: {message}", file=sys.stderr)
    return 1


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2))


async def _find_user(store: IdentityStore, ref: str) -> User | None:
    return await store.users.get(ref) or await store.users.find(ref)


async def _users(store: IdentityStore, args: argparse.Namespace) -> int:
    if args.sub == "create":
        if await store.accounts.get(args.account) is None:
            return _refuse(f"no such account {args.account}")
        user = await store.users.create(
            args.username,
            _password(args),
            args.scopes,
            roles=args.roles or (),
            account_id=args.account,
        )
        await record_operator(
            store,
            actions.USER_CREATE,
            ("user", user.id),
            account=user.account_id,
            details={"username": user.username, "scopes": sorted(user.scopes)},
        )
        _print(user_json(user))
        return 0
    if args.sub == "list":
        users: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page, cursor = await store.users.list_page(limit=1000, cursor=cursor)
            users += [user_json(user) for user in page]
            if cursor is None:
                _print(users)
                return 0
    found = await _find_user(store, args.user)
    if found is None:
        return _refuse(f"no user {args.user!r}")
    target = ("user", found.id)
    if args.sub == "delete":
        if await store.users.delete(found.id):
            await record_operator(store, actions.USER_DELETE, target, account=found.account_id)
        return 0
    changes: dict[str, Any]
    if args.sub == "set-password":
        changes, action = {"password": _password(args)}, actions.USER_PASSWORD_CHANGE
    elif args.sub == "set-scopes":
        changes, action = {"scopes": args.scopes}, actions.USER_UPDATE
    elif args.sub == "set-roles":
        changes, action = {"roles": args.roles or []}, actions.USER_UPDATE
    else:
        disable = args.sub == "disable"
        changes = {"disabled": disable}
        action = actions.USER_DISABLE if disable else actions.USER_ENABLE
    updated = await store.users.update(found.id, **changes)
    if updated is None:  # deleted meanwhile
        return _refuse(f"no user {args.user!r}")
    shown = {k: v for k, v in changes.items() if k != "password"}
    await record_operator(store, action, target, account=found.account_id, details=shown)
    _print(user_json(updated))
    return 0


async def _clients(store: IdentityStore, args: argparse.Namespace) -> int:
    if args.sub == "create":
        if await store.accounts.get(args.account) is None:
            return _refuse(f"no such account {args.account}")
        client, secret = await store.clients.create(
            args.name,
            grant_types=args.grant_types or DEFAULT_GRANT_TYPES,
            scopes=args.scopes,
            account_id=args.account,
        )
        await record_operator(
            store, actions.CLIENT_CREATE, ("client", client.id), account=client.account_id
        )
        _print({**client_json(client), "client_secret": secret})
        return 0
    if args.sub == "list":
        clients: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page, cursor = await store.clients.list_page(limit=1000, cursor=cursor)
            clients += [client_json(client) for client in page]
            if cursor is None:
                _print(clients)
                return 0
    found = await store.clients.get(args.client_id)
    if found is None or not await store.clients.delete(args.client_id):
        return _refuse(f"no client {args.client_id!r}")
    await record_operator(
        store, actions.CLIENT_DELETE, ("client", found.id), account=found.account_id
    )
    return 0


async def _jwt(store: IdentityStore, args: argparse.Namespace, config: Config) -> int:
    keys = store.signing_keys
    if args.sub == "rotate":
        settings = OAuthSettings.from_config(config)
        kid = await keys.rotate(overlap=settings.key_overlap)
        overlap = int(settings.key_overlap.total_seconds())
        await record_operator(
            store,
            actions.SIGNING_KEY_ROTATE,
            ("signing_key", kid),
            account=None,
            details={"previous_keys_served_for_seconds": overlap},
        )
        _print(
            {
                "active_kid": kid,
                "previous_keys_served_for_seconds": overlap,
            }
        )
        return 0
    if args.sub == "prune":
        _print({"removed": await keys.prune()})
        return 0
    if args.sub == "remove":
        if await keys.remove(args.kid):
            # Tokens it signed stop verifying at once: who did that, and when, is kept.
            await record_operator(
                store, actions.SIGNING_KEY_REMOVE, ("signing_key", args.kid), account=None
            )
            return 0
        if any(key.kid == args.kid for key in await keys.all()):
            return _refuse(f"{args.kid} is the active signing key: `jwt rotate` first")
        return _refuse(f"no signing key {args.kid!r}")
    now = datetime.now(UTC)
    listed: list[dict[str, Any]] = []
    for key in await keys.all():
        served = key.retired_at is None or (key.serve_until is not None and key.serve_until > now)
        listed.append(
            {
                "kid": key.kid,
                "active": key.is_active,
                "published": served,
                "created_at": iso(key.created_at),
                "retired_at": iso(key.retired_at),
                "serve_until": iso(key.serve_until),
            }
        )
    _print(listed)
    return 0


async def _run(args: argparse.Namespace, config: Config) -> int:
    store = await IdentityStore.from_config(config)
    try:
        if args.command == "users":
            return await _users(store, args)
        if args.command == "clients":
            return await _clients(store, args)
        return await _jwt(store, args, config)
    finally:
        await store.close()


def run(args: argparse.Namespace, config: Config) -> int:
    try:
        return asyncio.run(_run(args, config))
    except DuplicateUserError as exc:
        print(f"nfyio-gateway: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        print(f"nfyio-gateway: {exc}", file=sys.stderr)
        return 2
