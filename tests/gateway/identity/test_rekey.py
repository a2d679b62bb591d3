"""Re-sealing the state store under a new master key (gateway.identity.rekey), on SQLite
and PostgreSQL: every secret keeps working under the new key, nothing stays readable
under the old one, refresh tokens end with their sessions."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.crypto import DecryptionError, Keyring, MasterKeyError
from gateway.identity.models import to_micros
from gateway.identity.rekey import ROTATED_REASON, rekey
from gateway.identity.rows import access_key_aad, as_bytes
from gateway.identity.signing_keys import signing_key_aad
from gateway.identity.store import IdentityStore
from gateway.identity.tokens import Session
from tests.gateway.identity.conftest import OpenStore

NOW = datetime.now(UTC)


async def _rotate(store: IdentityStore, new_key: bytes) -> None:
    old, new = store.keyring, Keyring(new_key)
    await store.db.transaction(lambda tx: rekey(tx, old, new, now_us=to_micros(NOW)))


async def _sign_in(store: IdentityStore, user_id: str, client_id: str) -> tuple[Session, str]:
    """A password-grant session with its first refresh token."""
    session, token = await store.sessions.start(
        user_id, client_id, ["read:objects"], expires_at=NOW + timedelta(days=1), with_refresh=True
    )
    assert token is not None
    return session, token


async def test_rekey_keeps_every_key_and_ends_sessions(
    open_store: OpenStore, master_key: bytes
) -> None:
    store = await open_store()
    try:
        key, secret = await store.create_key("app", ["read:objects"])
        rotated, first = await store.create_key("rotated", ["read:objects"])
        grace = await store.keys.rotate_key(rotated.id, grace=timedelta(hours=1))
        assert grace is not None
        await store.ensure_root_key("AKIAROOTROTATION0001", "root-secret-0123456789abcdefghijklm")
        kid = await store.signing_keys.ensure_active()
        user = await store.users.create("rotating-user", "password-1", ["read:objects"])
        client, _ = await store.clients.create("c", scopes=["read:objects"])
        session, token = await _sign_in(store, user.id, client.id)
        assert await store.sessions.find_refresh(token) is not None
        before_pem = await store.signing_keys.active()
        assert before_pem is not None
        new_key = os.urandom(32)
        await _rotate(store, new_key)
    finally:
        await store.close()

    with pytest.raises(MasterKeyError):
        await open_store()  # the old key no longer opens the store
    after = await open_store(master_key=new_key)
    try:
        assert await after.find_by_secret(secret, NOW) == key
        assert await after.sigv4_secrets(key.id, NOW) == (key, (secret,))
        # Both secrets of a key in its rotation grace period, in the same order.
        answer = await after.sigv4_secrets(rotated.id, NOW)
        assert answer is not None and sorted(answer[1]) == sorted([first, grace[1]])
        root = await after.sigv4_secrets("AKIAROOTROTATION0001", NOW)
        assert root is not None and root[1] == ("root-secret-0123456789abcdefghijklm",)
        active = await after.signing_keys.active()
        assert active is not None and active[0] == kid
        assert active[1].private_numbers() == before_pem[1].private_numbers()
        assert await after.sessions.find_refresh(token) is None
        ended = await after.sessions.get(session.id)
        assert ended is not None and ended.revoked_reason == ROTATED_REASON
        # Nothing stored is readable under the old key any more.
        old = Keyring(master_key)
        for key_id, sealed in await after.db.fetch_all(
            "SELECT key_id, secret_enc FROM access_key_secrets"
        ):
            with pytest.raises(DecryptionError):
                old.box.open(as_bytes(sealed), aad=access_key_aad(str(key_id)))
        for found_kid, sealed in await after.db.fetch_all(
            "SELECT kid, private_enc FROM signing_keys"
        ):
            with pytest.raises(DecryptionError):
                old.box.open(as_bytes(sealed), aad=signing_key_aad(str(found_kid)))
        assert await after.find_by_secret(secret, NOW) is not None
        hashes = {
            bytes(r[0])
            for r in await after.db.fetch_all("SELECT lookup_hash FROM access_key_secrets")
        }
        assert old.lookup_hash(secret) not in hashes
        # A user signs in again: sessions and refresh tokens work under the new key.
        _, fresh = await _sign_in(after, user.id, client.id)
        assert await after.sessions.find_refresh(fresh) is not None
    finally:
        await after.close()


async def test_rekey_refuses_a_store_not_under_the_old_key(
    open_store: OpenStore, master_key: bytes
) -> None:
    store = await open_store()
    try:
        await store.create_key("app", ["read:objects"])
        stranger, new = Keyring(os.urandom(32)), Keyring(os.urandom(32))
        with pytest.raises(DecryptionError):
            await store.db.transaction(lambda tx: rekey(tx, stranger, new, now_us=to_micros(NOW)))
    finally:
        await store.close()
    again = await open_store()  # rolled back: still the original key's
    await again.close()


async def test_a_gateway_still_on_the_old_key_writes_nothing_under_it(
    open_store: OpenStore,
) -> None:
    """Another host kept serving through a rotation: every write that seals or hashes
    under its (old) key is refused; its reads find nothing it could misuse."""
    stale = await open_store()
    try:
        user = await stale.users.create("stale-user", "password-1", ["read:objects"])
        client, _ = await stale.clients.create("c", scopes=["read:objects"])
        key, _ = await stale.create_key("app", ["read:objects"])
        await stale.signing_keys.ensure_active()
        _, token = await _sign_in(stale, user.id, client.id)
        rotating = await open_store()
        try:
            await _rotate(rotating, os.urandom(32))
        finally:
            await rotating.close()
        with pytest.raises(MasterKeyError, match="restart it with the new key"):
            await stale.create_key("late", ["read:objects"])
        with pytest.raises(MasterKeyError, match="restart it with the new key"):
            await stale.keys.rotate_key(key.id)
        with pytest.raises(MasterKeyError, match="restart it with the new key"):
            await stale.signing_keys.rotate(overlap=timedelta(0))
        with pytest.raises(MasterKeyError, match="restart it with the new key"):
            await stale.sessions.start(
                user.id,
                client.id,
                ["read:objects"],
                expires_at=NOW + timedelta(days=1),
                with_refresh=True,
            )
        assert (await stale.sessions.rotate(token, client.id)).outcome != "ok"
        rows = await stale.db.fetch_all("SELECT key_id FROM access_key_secrets")
        assert sorted(str(r[0]) for r in rows) == [key.id]  # nothing was added
    finally:
        await stale.close()
