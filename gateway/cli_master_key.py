"""``nfyio-gateway rotate-master-key [--new-key-file FILE]``: a new master key for the data
directory's state store (:mod:`gateway.master_key`; docs/security.md).

Every gateway on the data directory must be stopped: the command refuses to run while one
serves from it on this host, and one started meanwhile waits for it. Gateways on other
hosts sharing a PostgreSQL state store are the operator's to stop (and to restart with the
new key). Output is one JSON object. Exit status: 0 rotated (or an unfinished rotation
finished), 1 refused (a gateway running, no key to rotate, the key files disagree), 2 bad
arguments or configuration.
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
from gateway.identity.crypto import MasterKeyError, read_key_file
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


def run(args: argparse.Namespace, config: Config) -> int:
    try:
        new_key = None if args.new_key_file is None else read_key_file(args.new_key_file)
        with datadir.alone(config.data_dir):
            done = asyncio.run(rotate(config, new_key=new_key))
    except (datadir.Busy, RotationError, MasterKeyError, BackendError, FileNotFoundError) as exc:
        print(f"nfyio-gateway rotate-master-key: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(_report(done), indent=2))
    return 0
