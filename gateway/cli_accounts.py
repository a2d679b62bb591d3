"""``nfyio-gateway accounts ...``: create, list and delete accounts without the API.

The operator's way to manage tenants (the API's ``/v1/accounts`` needs the root key from
the environment). Works directly on the state store (``--data-dir`` / ``--config`` as for
``serve``); safe while the gateway runs. ``create`` prints the account's first admin key,
whose secret is shown once. Exit status: 0 done, 1 refused (unknown account, the system
account, an account that still owns buckets, a taken e-mail), 2 bad arguments or
configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.api.access_keys import key_json
from gateway.api.accounts import account_json
from gateway.audit import actions
from gateway.audit.operator import record_operator
from gateway.config import Config
from gateway.identity import key_rules
from gateway.identity.accounts import AccountOwnsBuckets, DuplicateEmailError, DuplicateNameError
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.scopes import ADMIN

__all__ = ["add_parser", "run"]


def add_parser(
    commands: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    accounts = commands.add_parser("accounts", help="create, list and delete accounts (tenants)")
    actions = accounts.add_subparsers(dest="accounts_command", required=True)
    create = actions.add_parser("create", help="create an account and its first admin key")
    create.add_argument("--name", required=True)
    create.add_argument("--email", help="names the account in ACL grants by e-mail")
    listing = actions.add_parser("list", help="list accounts")
    delete = actions.add_parser(
        "delete", help="delete an account that owns no bucket (its keys are revoked)"
    )
    delete.add_argument("account_id")
    for parser in (create, listing, delete):
        add_config_options(parser)
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fail(message: str, status: int = 1) -> int:
    print(f"nfyio-gateway accounts: {message}", file=sys.stderr)
    return status


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


async def _create(args: argparse.Namespace, store: IdentityStore) -> int:
    try:
        account = await store.accounts.create(args.name, email=args.email)
    except (DuplicateEmailError, DuplicateNameError) as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(str(exc), 2)
    now = datetime.now(UTC)
    key, secret = await store.create_key(
        key_rules.admin_key_name(account.name), [ADMIN], account_id=account.id, now=now
    )
    await record_operator(
        store,
        actions.ACCOUNT_CREATE,
        ("account", account.id),
        account=account.id,
        details={"admin_key": key.id},
    )
    admin = {**key_json(key, now), "secret": secret, "secret_access_key": secret}
    _emit(
        args,
        {**account_json(account), "admin_key": admin},
        f"created account {account.id} ({account.name}), canonical id {account.canonical_id}\n"
        f"  admin access key id:     {key.id}\n"
        f"  admin secret access key: {secret}\n"
        "  (the secret is shown only this once: store it now)",
    )
    return 0


async def _list(args: argparse.Namespace, store: IdentityStore) -> int:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = await store.accounts.list_page(limit=1000, cursor=cursor)
        found += [account_json(a) for a in page]
        if cursor is None:
            break
    lines = [f"{a['id']}  {a['name']}" + (f"  <{a['email']}>" if a["email"] else "") for a in found]
    _emit(args, found, "\n".join(lines))
    return 0


async def _delete(args: argparse.Namespace, store: IdentityStore) -> int:
    if args.account_id == SYSTEM_ACCOUNT_ID:
        return _fail("the system account cannot be deleted")
    account = await store.accounts.get(args.account_id)
    if account is None:
        return _fail(f"no such account {args.account_id}")
    try:
        await store.delete_account(account.id)
    except AccountOwnsBuckets as exc:
        return _fail(f"{account.id} still owns buckets: {', '.join(exc.buckets[:20])}")
    await record_operator(
        store, actions.ACCOUNT_DELETE, ("account", account.id), account=account.id
    )
    _emit(args, account_json(account), f"deleted {account.id}; its keys are revoked")
    return 0


_ACTIONS = {"create": _create, "list": _list, "delete": _delete}


async def _run(args: argparse.Namespace, config: Config) -> int:
    store = await IdentityStore.from_config(config)
    try:
        return await _ACTIONS[args.accounts_command](args, store)
    finally:
        await store.close()


def run(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_run(args, config))
