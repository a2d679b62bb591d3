"""``nfyio-gateway rotate-master-key [--new-key-file FILE]``: a new master key for the data
directory's state store (:mod:`gateway.master_key`; docs/security.md).

Every gateway on the data directory must be stopped: the command refuses to run while one
serves from it on this host, and one started meanwhile waits for it. Gateways on other
hosts sharing a PostgreSQL state store are the operator's to stop (and to restart with the
new key). Output is one JSON object. Exit status: 0 rotated (or an unfinished rotation
finished), 1 refused (a gateway running, no key to rotate, the key files disagree), 2 bad
arguments or configuration. A state store it cannot open (down, or of a newer release)
stops it before anything is changed (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.errors import BackendError
from gateway import datadir
from gateway.config import Config
from gateway.identity.crypto import (
    MASTER_KEY_FILE,
    ROTATION_MARKER,
    MasterKeyError,
    read_key_file,
)
from gateway.identity.store import IdentityStore
from gateway.master_key import Rotation, RotationError, rotate

__all__ = ["add_parser", "run"]


def add_parser(
    commands: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    parser = commands.add_parser(
        "rotate-master-key",
        help="re-seal the state store under a new master key (gateways stopped)",
    )
    add_config_options(parser)
    parser.add_argument(
        "--new-key-file",
        type=Path,
        help="the new key (base64, mode 0600); default for a data-directory key: a random one",
    )


def _report(done: Rotation) -> dict[str, Any]:
    report: dict[str, Any] = {
        "previous_fingerprint": done.old_fingerprint,
        "fingerprint": done.new_fingerprint,
        "finished_earlier_run": done.rekeyed is None,
        "sse_s3_streams_rewrapped": done.streams_rewrapped,
        "old_key_needed_by_sse_c_objects": done.old_key_needed,
    }
    if done.rekeyed is not None:
        report.update(
            access_key_secrets=done.rekeyed.access_key_secrets,
            signing_keys=done.rekeyed.signing_keys,
            sessions_ended=done.rekeyed.sessions_ended,
        )
    if done.key_file is not None:
        report["key_file"] = str(done.key_file)
    else:
        steps = ["point auth.master_key / auth.master_key_file at the new key on every host"]
        if done.old_key_needed:
            steps.append(
                "list the old key in auth.previous_master_key_files "
                "(NFYIO_PREVIOUS_MASTER_KEY_FILES): SSE-C objects written under it need it"
            )
        report["next"] = steps
    if done.previous_key_file is not None:
        report["previous_key_file"] = str(done.previous_key_file)
    if done.unreadable_streams:
        # Already unreadable before the rotation: a master key not configured (give it in
        # auth.previous_master_key_files and run again to re-wrap them) or damaged data.
        report["sse_s3_streams_unreadable"] = done.unreadable_streams
    if done.unused_previous_keys:
        report["unused_previous_keys"] = [str(path) for path in done.unused_previous_keys]
    return report


async def _open_once(config: Config) -> None:
    store = await IdentityStore.from_config(config)
    await store.close()


def _check_store(config: Config) -> None:
    """Before a first run changes anything (the staged key, the mark, SSE-S3 headers),
    open the state store under the current key: one this release cannot use (a newer
    schema, a database that is down or refuses the login) then stops the command with
    the data directory as it was, not with a rotation half done. A run that finishes an
    earlier one, or a data directory without a key, goes straight to :func:`rotate`."""
    auth, data_dir = config.auth, config.data_dir
    if (data_dir / ROTATION_MARKER).exists():
        return
    if auth.master_key or auth.master_key_file or (data_dir / MASTER_KEY_FILE).exists():
        asyncio.run(_open_once(config))


def run(args: argparse.Namespace, config: Config) -> int:
    try:
        new_key = None if args.new_key_file is None else read_key_file(args.new_key_file)
        with datadir.alone(config.data_dir):
            _check_store(config)
            done = asyncio.run(rotate(config, new_key=new_key))
    except (datadir.Busy, RotationError, MasterKeyError, BackendError, FileNotFoundError) as exc:
        print(f"nfyio-gateway rotate-master-key: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(_report(done), indent=2))
    return 0
