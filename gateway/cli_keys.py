"""``nfyio-gateway keys ...``: manage access keys without the API (operators, scripts).

Works directly on the identity store in the data directory (``--data-dir`` /
``--config`` as for ``serve``); safe while the gateway runs (SQLite WAL, and no process
caches keys). Keys made here have no owner and no parent credential; they act for the
system account unless ``--account`` names another. Revoking a key revokes the keys minted
with it too. Stored timestamps outside the years 1 to 9999 are shown clamped (see
``gateway.identity.models.from_micros``). Exit status: 0 done, 1 refused (unknown key,
root key, revoked key), 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.api.access_keys import MAX_GRACE_SECONDS, iso, key_json
from gateway.audit import actions as audit_actions
from gateway.audit.operator import record_operator
from gateway.config import Config
from gateway.identity.models import parse_instant
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID

__all__ = ["add_parser", "run"]


def add_parser(
    commands: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    keys = commands.add_parser("keys", help="create, list, revoke and rotate access keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)

    create = actions.add_parser("create", help="create a key; its secret is printed once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        dest="scopes",
        help="a scope (repeat for several): read:objects, admin, ...",
    )
    create.add_argument(
        "--expires-at", help="RFC 3339 time with a zone (2030-01-01T00:00:00Z), in the future"
    )
    create.add_argument(
        "--bucket",
        action="append",
        dest="buckets",
        help="limit to this bucket or pattern (repeatable; default: all)",
    )
    create.add_argument(
        "--account",
        default=SYSTEM_ACCOUNT_ID,
        help=f"the account the key acts for (default: {SYSTEM_ACCOUNT_ID})",
    )

    listing = actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked and expired")

    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")

    rotate = actions.add_parser("rotate", help="issue a new secret for a key")
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--grace",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long the old secret keeps working (default 0)",
    )

    for parser in (create, listing, revoke, rotate):
        add_config_options(parser)
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fail(message: str, status: int = 1) -> int:
    print(f"nfyio-gateway keys: {message}", file=sys.stderr)
    return status


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


async def _create(args: argparse.Namespace, store: IdentityStore) -> int:
    expires_at = None
    if args.expires_at:
        try:
            expires_at = parse_instant(args.expires_at, "--expires-at")
        except ValueError as exc:
            return _fail(str(exc), 2)
    if await store.accounts.get(args.account) is None:
        return _fail(f"no such account {args.account}")
    try:
        key, secret = await store.create_key(
            args.name,
            args.scopes,
            expires_at=expires_at,
            buckets=args.buckets,
            account_id=args.account,
        )
    except (ValueError, TypeError) as exc:
        return _fail(str(exc), 2)
    now = datetime.now(UTC)
    await record_operator(
        store,
        audit_actions.ACCESS_KEY_CREATE,
        ("access_key", key.id),
        account=key.account_id,
        details={"scopes": sorted(key.scopes), "buckets": args.buckets},
    )
    data = {**key_json(key, now), "secret": secret, "secret_access_key": secret}
    _emit(
        args,
        data,
        f"created {key.id} ({key.name}): scopes {' '.join(sorted(key.scopes))}\n"
        f"  access key id:     {key.id}\n"
        f"  secret access key: {secret}\n"
        "  (the secret is shown only this once: store it now)",
    )
    return 0


async def _list(args: argparse.Namespace, store: IdentityStore) -> int:
    now = datetime.now(UTC)
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = await store.list_keys(limit=1000, cursor=cursor)
        found += [key_json(k, now) for k in page if args.all or k.is_active(now)]
        if cursor is None:
            break
    lines = [
        f"{k['id']}  {k['status']:<8} {','.join(k['scopes']):<30} {k['name']}"
        + (f"  buckets={','.join(k['buckets'])}" if k["buckets"] else "")
        for k in found
    ]
    _emit(args, found, "\n".join(lines) if lines else "(no keys)")
    return 0


async def _revoke(args: argparse.Namespace, store: IdentityStore) -> int:
    key = await store.get_key(args.key_id)
    if key is None:
        return _fail(f"no such key {args.key_id}")
    if key.is_root:
        return _fail("the root key is managed by NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY")
    if key.revoked_at is not None:
        return _fail(f"{key.id} was revoked already, at {iso(key.revoked_at)}")
    if not await store.revoke_key(key.id):  # revoked meanwhile by someone else
        return _fail(f"{key.id} was revoked already")
    await record_operator(
        store, audit_actions.ACCESS_KEY_REVOKE, ("access_key", key.id), account=key.account_id
    )
    revoked = await store.get_key(key.id)
    assert revoked is not None
    _emit(args, key_json(revoked, datetime.now(UTC)), f"revoked {key.id}")
    return 0


async def _rotate(args: argparse.Namespace, store: IdentityStore) -> int:
    if not 0 <= args.grace <= MAX_GRACE_SECONDS:
        return _fail(f"--grace must be from 0 to {MAX_GRACE_SECONDS}", 2)
    key = await store.get_key(args.key_id)
    if key is None:
        return _fail(f"no such key {args.key_id}")
    if key.is_root:
        return _fail("the root key is managed by NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY")
    rotated = await store.rotate_key(key.id, grace=timedelta(seconds=args.grace))
    if rotated is None:
        return _fail(f"{key.id} is revoked or expired")
    new_key, secret = rotated
    await record_operator(
        store,
        audit_actions.ACCESS_KEY_ROTATE,
        ("access_key", key.id),
        account=key.account_id,
        details={"grace_seconds": args.grace},
    )
    data = {**key_json(new_key, datetime.now(UTC)), "secret": secret, "secret_access_key": secret}
    _emit(
        args,
        data,
        f"rotated {key.id}; old secret valid for {args.grace} s\n"
        f"  secret access key: {secret}\n"
        "  (the secret is shown only this once: store it now)",
    )
    return 0


_ACTIONS = {"create": _create, "list": _list, "revoke": _revoke, "rotate": _rotate}


async def _run(args: argparse.Namespace, config: Config) -> int:
    store = await IdentityStore.from_config(config)
    try:
        return await _ACTIONS[args.keys_command](args, store)
    finally:
        await store.close()


def run(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_run(args, config))
