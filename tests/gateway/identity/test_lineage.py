"""Derived credentials (issue 10 item 10): a key minted with a credential records it,
never outlives it, and is revoked with it, transitively. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.db import Tx
from gateway.identity.lineage import (
    Lineage,
    ParentBoundError,
    ParentInactiveError,
    revoke_minted,
)
from gateway.identity.models import to_micros
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal

HOUR = timedelta(hours=1)


async def _usable(store: IdentityStore, key_id: str, secret: str) -> bool:
    now = datetime.now(UTC)
    by_sigv4 = await store.sigv4_secrets(key_id, now) is not None
    by_bearer = await store.find_by_secret(secret, now) is not None
    assert by_sigv4 == by_bearer
    return by_sigv4


def _key_principal(key_id: str, expires_at: datetime | None = None) -> Principal:
    return Principal(
        kind="key",
        subject=key_id,
        scopes=frozenset({"read:objects"}),
        key_id=key_id,
        expires_at=expires_at,
        account_id=SYSTEM_ACCOUNT_ID,
    )


async def _mint(
    store: IdentityStore, parent: Principal, expires_at: datetime | None = None
) -> tuple[str, str]:
    key, secret = await store.create_key(
        "child",
        ["read:objects"],
        owner=parent.subject,
        parent=Lineage.of(parent),
        expires_at=expires_at,
    )
    return key.id, secret


class _Login:
    """A user logged in through a client: its session (refresh family) and token ids."""

    def __init__(self, user_id: str, client_id: str, session_id: str, session_end: datetime):
        self.user_id = user_id
        self.client_id = client_id
        self.session_id = session_id
        self.session_end = session_end

    def principal(self, jti: str = "jti-1") -> Principal:
        return Principal(
            kind="user",
            subject=self.user_id,
            scopes=frozenset({"read:objects"}),
            expires_at=datetime.now(UTC) + HOUR,
            client_id=self.client_id,
            session_id=self.session_id,
            token_id=jti,
            account_id=SYSTEM_ACCOUNT_ID,
        )


async def _login(store: IdentityStore, *, family: timedelta = timedelta(days=30)) -> _Login:
    user = await store.users.create("alice", "password-1", ["read:objects"])
    client, _ = await store.clients.create("app", scopes=["read:objects"])
    end = datetime.now(UTC) + family
    session, _ = await store.sessions.start(
        user.id, client.id, ["read:objects"], expires_at=end, with_refresh=True
    )
    return _Login(user.id, client.id, session.id, session.expires_at)


# --- minted with an access key ---------------------------------------------------------


async def test_revoking_a_key_revokes_what_it_minted_transitively(store: IdentityStore) -> None:
    parent, parent_secret = await store.create_key("parent", ["read:objects"])
    child_id, child_secret = await _mint(store, _key_principal(parent.id))
    grandchild_id, grandchild_secret = await _mint(store, _key_principal(child_id))
    sibling, sibling_secret = await store.create_key("unrelated", ["read:objects"])
    assert await _usable(store, grandchild_id, grandchild_secret)

    assert await store.revoke_key(parent.id)

    assert not await _usable(store, parent.id, parent_secret)
    assert not await _usable(store, child_id, child_secret)
    assert not await _usable(store, grandchild_id, grandchild_secret)
    assert await _usable(store, sibling.id, sibling_secret)
    for key_id in (child_id, grandchild_id):
        key = await store.get_key(key_id)
        assert key is not None and key.revoked_at is not None
        secrets = await store.db.fetch_all(
            "SELECT 1 FROM access_key_secrets WHERE key_id = ?", (key_id,)
        )
        assert secrets == []


async def test_revoking_a_child_leaves_its_parent(store: IdentityStore) -> None:
    parent, parent_secret = await store.create_key("parent", ["read:objects"])
    child_id, _ = await _mint(store, _key_principal(parent.id))
    assert await store.revoke_key(child_id)
    assert await _usable(store, parent.id, parent_secret)


async def test_rotation_is_not_revocation_children_stay(store: IdentityStore) -> None:
    parent, _ = await store.create_key("parent", ["read:objects"])
    child_id, child_secret = await _mint(store, _key_principal(parent.id))
    assert await store.rotate_key(parent.id) is not None
    assert await _usable(store, child_id, child_secret)


async def test_child_of_expiring_key_inherits_or_is_refused_a_later_expiry(
    store: IdentityStore,
) -> None:
    end = datetime.now(UTC) + HOUR
    parent, _ = await store.create_key("parent", ["read:objects"], expires_at=end)
    principal = _key_principal(parent.id, end)

    inherited_id, _ = await _mint(store, principal)
    inherited = await store.get_key(inherited_id)
    assert inherited is not None and inherited.expires_at == parent.expires_at

    shorter_id, _ = await _mint(store, principal, end - timedelta(minutes=5))
    shorter = await store.get_key(shorter_id)
    assert shorter is not None and shorter.expires_at == end - timedelta(minutes=5)

    with pytest.raises(ParentBoundError):
        await _mint(store, principal, end + timedelta(seconds=1))
    with pytest.raises(ParentBoundError):
        await _mint(store, principal, end + timedelta(days=3650))


async def test_a_revoked_or_expired_parent_mints_nothing(store: IdentityStore) -> None:
    revoked, _ = await store.create_key("revoked", ["read:objects"])
    await store.revoke_key(revoked.id)
    with pytest.raises(ParentInactiveError):
        await _mint(store, _key_principal(revoked.id))

    past = datetime.now(UTC) - timedelta(seconds=1)
    expired, _ = await store.create_key(
        "expired", ["read:objects"], expires_at=past + timedelta(days=1), now=past - HOUR
    )
    await store.db.transaction(
        lambda tx: tx.execute(
            "UPDATE access_keys SET expires_at = created_at + 1 WHERE id = ?", (expired.id,)
        )
    )
    with pytest.raises(ParentInactiveError):
        await _mint(store, _key_principal(expired.id))
    listed, _ = await store.list_keys()
    assert {k.id for k in listed} == {revoked.id, expired.id}


async def test_replacing_the_root_key_revokes_what_the_old_one_minted(
    store: IdentityStore,
) -> None:
    old_root = await store.ensure_root_key("AKIAOLDROOT000000001", "old-root-secret-0123456789")
    child_id, child_secret = await _mint(store, _key_principal(old_root.id))
    await store.ensure_root_key("AKIANEWROOT000000001", "new-root-secret-0123456789")
    assert not await _usable(store, child_id, child_secret)


# --- minted with a user's access token ------------------------------------------------


async def test_user_token_key_expires_with_the_refresh_family(store: IdentityStore) -> None:
    login = await _login(store, family=timedelta(days=2))
    key_id, _ = await _mint(store, login.principal())
    key = await store.get_key(key_id)
    assert key is not None and key.expires_at == login.session_end
    with pytest.raises(ParentBoundError):
        await _mint(store, login.principal(), login.session_end + timedelta(seconds=1))
    # The access token's own hour does not bound it: the family does.
    later_id, _ = await _mint(store, login.principal(), datetime.now(UTC) + timedelta(days=1))
    assert later_id


@pytest.mark.parametrize(
    "event",
    [
        "sign_out",
        "refresh_reuse",
        "password_change",
        "user_disabled",
        "user_deleted",
        "client_deleted",
        "token_revoked",
    ],
)
async def test_user_token_keys_are_revoked_with_their_parent(
    store: IdentityStore, event: str
) -> None:
    login = await _login(store)
    key_id, secret = await _mint(store, login.principal("jti-parent"))
    nested_id, nested_secret = await _mint(store, _key_principal(key_id))
    admin, admin_secret = await store.create_key("admin's own", ["admin"])
    assert await _usable(store, nested_id, nested_secret)

    if event == "sign_out":
        assert await store.sessions.revoke(login.session_id)
    elif event == "refresh_reuse":
        session, token = await store.sessions.start(
            login.user_id,
            login.client_id,
            ["read:objects"],
            expires_at=login.session_end,
            with_refresh=True,
        )
        assert token is not None
        reused_key, reused_secret = await _mint(
            store, _Login(login.user_id, login.client_id, session.id, login.session_end).principal()
        )
        assert (await store.sessions.rotate(token, login.client_id)).outcome == "ok"
        assert (await store.sessions.rotate(token, login.client_id)).outcome == "reused"
        assert not await _usable(store, reused_key, reused_secret)
        # Only that family: the first login's keys stay.
        assert await _usable(store, key_id, secret)
        return
    elif event == "password_change":
        assert await store.users.update(login.user_id, password="password-2") is not None
    elif event == "user_disabled":
        assert await store.users.update(login.user_id, disabled=True) is not None
    elif event == "user_deleted":
        assert await store.users.delete(login.user_id)
    elif event == "client_deleted":
        assert await store.clients.delete(login.client_id)
    else:
        await store.sessions.revoke_access_token("jti-parent", datetime.now(UTC) + HOUR)

    assert not await _usable(store, key_id, secret)
    assert not await _usable(store, nested_id, nested_secret)
    assert await _usable(store, admin.id, admin_secret)


async def test_a_signed_out_family_mints_nothing(store: IdentityStore) -> None:
    login = await _login(store)
    await store.sessions.revoke(login.session_id)
    with pytest.raises(ParentInactiveError):
        await _mint(store, login.principal())


async def test_a_revoked_access_token_mints_nothing(store: IdentityStore) -> None:
    login = await _login(store)
    await store.sessions.revoke_access_token("jti-gone", datetime.now(UTC) + HOUR)
    with pytest.raises(ParentInactiveError):
        await _mint(store, login.principal("jti-gone"))
    assert await _mint(store, login.principal("jti-other"))


# --- minted with a client-credentials token -------------------------------------------


async def test_client_token_key_is_bounded_by_the_token_and_dies_with_the_client(
    store: IdentityStore,
) -> None:
    client, _ = await store.clients.create(
        "service", grant_types=["client_credentials"], scopes=["read:objects"]
    )
    exp = datetime.now(UTC).replace(microsecond=0) + HOUR
    principal = Principal(
        kind="client",
        subject=client.id,
        scopes=frozenset({"read:objects"}),
        expires_at=exp,
        client_id=client.id,
        token_id="jti-cc",
        account_id=SYSTEM_ACCOUNT_ID,
    )
    key_id, secret = await _mint(store, principal)
    key = await store.get_key(key_id)
    assert key is not None and key.expires_at == exp
    with pytest.raises(ParentBoundError):
        await _mint(store, principal, exp + timedelta(days=1))

    assert await store.clients.delete(client.id)
    assert not await _usable(store, key_id, secret)
    with pytest.raises(ParentInactiveError):
        await _mint(store, principal)


async def test_keys_without_a_parent_are_untouched_by_cascades(store: IdentityStore) -> None:
    """Keys made by the CLI or the bootstrap have no parent: only their own revocation
    ends them."""
    login = await _login(store)
    cli_key, cli_secret = await store.create_key("cli", ["read:objects"])
    await store.users.update(login.user_id, password="password-2")
    await store.clients.delete(login.client_id)
    assert await _usable(store, cli_key.id, cli_secret)


async def test_the_cascade_counts_the_keys_it_revoked(store: IdentityStore) -> None:
    """``revoke_minted`` (a ``WITH ... UPDATE``) returns how many keys it revoked, on both
    databases: SQLite's driver answered -1, and every revocation logged "revoked -1 keys
    minted with it", those of keys that minted nothing too."""
    parent, _ = await store.create_key("parent", ["read:objects"])
    child_id, _ = await _mint(store, _key_principal(parent.id))
    await _mint(store, _key_principal(child_id))
    lonely, _ = await store.create_key("lonely", ["read:objects"])
    when = to_micros(datetime.now(UTC))

    async def cascade(tx: Tx, key_id: str) -> int:
        return await revoke_minted(tx, "key", key_id, when)

    assert await store.db.transaction(lambda tx: cascade(tx, lonely.id)) == 0
    assert await store.db.transaction(lambda tx: cascade(tx, parent.id)) == 2
    assert await store.db.transaction(lambda tx: cascade(tx, parent.id)) == 0
