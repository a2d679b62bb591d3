"""Rotating the master key (``nfyio-gateway rotate-master-key``), with every gateway on the
data directory stopped (docs/security.md, "Rotating the master key").

One run, in this order, each step durable before the next:

1. The new key is chosen: ``--new-key-file``, or for the default ``<data_dir>/master.key``
   a fresh random key, staged in ``master.key.next``. ``rotation.pending`` (the new key's
   fingerprint) marks the data directory: nothing opens it until a run finishes.
2. Filesystem backend: every SSE-S3 data key is re-wrapped under the new key
   (:mod:`backends.filesystem.rewrap`; headers only). SSE-C objects cannot be: the key ids
   their HMACs name tell which earlier keys stay needed.
3. With a data-directory key that SSE-C objects still need, the old key is kept in
   ``previous-master-keys/<fingerprint>.key`` (a key configured from outside is never
   written into the data directory: it lived elsewhere on purpose).
4. The state store is re-sealed (:mod:`gateway.identity.rekey`, one transaction).
5. ``master.key.next`` is renamed over ``master.key``; the marker goes.

A run stopped at any point is finished by running the command again (with the same
``--new-key-file``): the staged key and the marker say where it was, re-wrapping skips
what is done, and a state store already under the new key is recognised.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from backends.filesystem import FilesystemBackend
from backends.filesystem.encryption import sse_key_id
from backends.filesystem.rewrap import Rewrapped
from gateway.app import SSE_KEY_PURPOSE, make_backend
from gateway.audit import actions
from gateway.audit.operator import record_operator
from gateway.config import Config
from gateway.datadir import make_private_dir
from gateway.identity.crypto import (
    MASTER_KEY_FILE,
    MASTER_KEY_SIZE,
    PENDING_MASTER_KEY_FILE,
    PREVIOUS_KEYS_DIR,
    ROTATION_MARKER,
    Keyring,
    MasterKeyError,
    create_key_file,
    create_private_file,
    derive_key,
    fsync_dir,
    load_or_create_master_key,
    previous_master_key_files,
    read_key_file,
)
from gateway.identity.models import to_micros, utcnow
from gateway.identity.rekey import Rekeyed, rekey
from gateway.identity.store import IdentityStore

__all__ = ["Rotation", "RotationError", "rotate"]


class RotationError(RuntimeError):
    """The rotation cannot go on as asked; nothing more was changed."""


@dataclass(frozen=True, slots=True)
class Rotation:
    old_fingerprint: str
    new_fingerprint: str
    rekeyed: Rekeyed | None
    """None when an earlier run had re-sealed the state store already."""
    streams_rewrapped: int
    """SSE-S3 headers re-wrapped under the new key (filesystem backend)."""
    unreadable_streams: dict[str, int]
    """Streams no key given opens (by the key id they name, or ``damaged``): unreadable
    before the rotation as after, left as they are."""
    key_file: Path | None
    """Where the new key is now (the data directory's ``master.key``), None when the
    operator's setting must be pointed at it."""
    old_key_needed: bool
    """SSE-C objects (or uploads) still name the old key: it must stay configured."""
    previous_key_file: Path | None
    """Where the old key was kept (a data-directory key that is still needed)."""
    unused_previous_keys: list[Path]
    """Previous keys that nothing stored names any more."""


def _source(config: Config) -> str | None:
    """The setting the master key comes from; None: ``<data_dir>/master.key``."""
    if config.auth.master_key:
        return "auth.master_key (NFYIO_MASTER_KEY)"
    if config.auth.master_key_file:
        return f"auth.master_key_file (NFYIO_MASTER_KEY_FILE = {config.auth.master_key_file})"
    return None


def _old_key(config: Config) -> bytes:
    if _source(config) is None:
        current = config.data_dir / MASTER_KEY_FILE
        if not current.exists():
            raise RotationError(f"{current} does not exist: no data was sealed under a key yet")
        return read_key_file(current)
    key_file = Path(config.auth.master_key_file) if config.auth.master_key_file else None
    return load_or_create_master_key(config.data_dir, config.auth.master_key, key_file=key_file)


def _new_key(config: Config, old: bytes, given: bytes | None) -> bytes:
    """The new key; staged and the data directory marked on a first run, read back from
    the stage on a run that finishes an earlier one."""
    data_dir = config.data_dir
    marker, staged = data_dir / ROTATION_MARKER, data_dir / PENDING_MASTER_KEY_FILE
    source = _source(config)
    if source is not None and given is None:
        raise RotationError(
            f"the master key comes from {source}: give the new key with --new-key-file, "
            "then point that setting at it"
        )
    if marker.exists():
        if source is None and given is None:
            # Staged, or already renamed over master.key by the run that stopped.
            given = read_key_file(staged) if staged.exists() else old
        assert given is not None
        pending = marker.read_text(encoding="ascii").strip()
        if Keyring(given).fingerprint != pending:
            raise RotationError(
                f"a rotation to another key did not finish ({marker}): run the command "
                "again with that rotation's key to finish it first"
            )
        return given
    key = given or secrets.token_bytes(MASTER_KEY_SIZE)
    if key == old:
        raise RotationError("the new master key is the current one")
    if source is None:
        # A staged key without the mark is a run that stopped before it changed anything.
        staged.unlink(missing_ok=True)
        create_key_file(staged, key)
    create_private_file(marker, (Keyring(key).fingerprint + "\n").encode("ascii"))
    return key


async def _rewrap(config: Config, old: bytes, new: bytes, previous: list[bytes]) -> Rewrapped:
    """Re-wrap SSE-S3 data keys under ``new`` (:mod:`backends.filesystem.rewrap`)."""
    backend = make_backend(
        config,
        sse_key=derive_key(new, SSE_KEY_PURPOSE),
        sse_previous_keys=[derive_key(k, SSE_KEY_PURPOSE) for k in (old, *previous)],
    )
    if not isinstance(backend, FilesystemBackend):
        return Rewrapped()  # the upstream store encrypts (or not) on its own
    await backend.start()
    try:
        return await backend.rewrap_keys()
    finally:
        await backend.close()


def _key_id(master: bytes) -> str:
    return sse_key_id(derive_key(master, SSE_KEY_PURPOSE)).hex()


async def _reseal(config: Config, old_key: bytes, new_key: bytes) -> Rekeyed | None:
    old, new = Keyring(old_key), Keyring(new_key)
    try:
        store = await IdentityStore.from_config(config, master_key=old_key)
    except MasterKeyError:
        # Not under the old key: re-sealed by an earlier run (or never the old key's).
        store = await IdentityStore.from_config(config, master_key=new_key)
        await store.close()
        return None
    try:
        now_us = to_micros(utcnow())
        rekeyed = await store.db.transaction(lambda tx: rekey(tx, old, new, now_us=now_us))
        await record_operator(
            store,
            actions.MASTER_KEY_ROTATE,
            ("master_key", new.fingerprint),
            account=None,
            details={
                "previous_fingerprint": old.fingerprint,
                "access_key_secrets": rekeyed.access_key_secrets,
                "signing_keys": rekeyed.signing_keys,
                "sessions_ended": rekeyed.sessions_ended,
            },
        )
    finally:
        await store.close()
    return rekeyed


async def _finish(config: Config, key: bytes) -> Rotation:
    """An earlier run got as far as the key in use being the new one: done if the state
    store is sealed under it (the last step before the key moved)."""
    try:
        store = await IdentityStore.from_config(config, master_key=key)
    except MasterKeyError:
        raise RotationError(
            "the configured master key is already the new one, but the state store is not "
            "sealed under it yet: configure the old key again and run the command with "
            "--new-key-file"
        ) from None
    await store.close()
    (config.data_dir / ROTATION_MARKER).unlink()
    fsync_dir(config.data_dir)
    fingerprint = Keyring(key).fingerprint
    key_file = config.data_dir / MASTER_KEY_FILE if _source(config) is None else None
    return Rotation(fingerprint, fingerprint, None, 0, {}, key_file, False, None, [])


async def rotate(config: Config, *, new_key: bytes | None = None) -> Rotation:
    """Put the data directory under a new master key (see the module). The caller holds
    it alone (:func:`gateway.datadir.alone`)."""
    data_dir = config.data_dir
    old_key = _old_key(config)
    key = _new_key(config, old_key, new_key)
    if key == old_key:
        return await _finish(config, key)
    previous_files = previous_master_key_files(data_dir, config.auth.previous_master_key_files)
    previous = [read_key_file(path) for path in previous_files]
    rewrapped = await _rewrap(config, old_key, key, previous)
    customer_ids = rewrapped.customer_key_ids
    old_needed = _key_id(old_key) in customer_ids
    kept = None
    if old_needed and _source(config) is None:
        directory = data_dir / PREVIOUS_KEYS_DIR
        make_private_dir(directory)
        kept = directory / f"{Keyring(old_key).fingerprint}.key"
        create_key_file(kept, old_key)  # there already after an interrupted run: same key
    rekeyed = await _reseal(config, old_key, key)
    key_file = None
    if _source(config) is None:
        key_file = data_dir / MASTER_KEY_FILE
        os.replace(data_dir / PENDING_MASTER_KEY_FILE, key_file)
    (data_dir / ROTATION_MARKER).unlink()
    fsync_dir(data_dir)
    unused = [
        path
        for path, previous_key in zip(previous_files, previous, strict=True)
        if _key_id(previous_key) not in customer_ids and path != kept
    ]
    return Rotation(
        old_fingerprint=Keyring(old_key).fingerprint,
        new_fingerprint=Keyring(key).fingerprint,
        rekeyed=rekeyed,
        streams_rewrapped=rewrapped.streams,
        unreadable_streams=dict(rewrapped.unreadable),
        key_file=key_file,
        old_key_needed=old_needed,
        previous_key_file=kept,
        unused_previous_keys=unused,
    )
