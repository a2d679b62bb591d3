"""Sessions (refresh families): rotation, reuse detection, caps, users and clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.identity.lineage import Lineage
from gateway.identity.store import IdentityStore


async def _login(
    store: IdentityStore, *, ttl: timedelta = timedelta(days=1)
) -> tuple[str, str, str]:
    user = await store.users.create("alice", "password-1", ["read:buckets"])
    client, _ = await store.clients.create("app", scopes=["read:buckets"])
    session, token = await store.sessions.start(
        user.id, client.id, ["read:buckets"], expires_at=datetime.now(UTC) + ttl, with_refresh=True
    )
    assert token is not None and token.startswith("rt_")
    return session.id, client.id, token


async def test_rotation_issues_a_successor_and_spends_the_old_token(store: IdentityStore) -> None:
    session_id, client_id, first = await _login(store)
    result = await store.sessions.rotate(first, client_id)
    assert result.outcome == "ok" and result.token is not None and result.token != first
    assert result.session is not None and result.session.id == session_id
    second = await store.sessions.rotate(result.token, client_id)
    assert second.outcome == "ok"


async def test_reuse_revokes_the_whole_family(store: IdentityStore) -> None:
    session_id, client_id, first = await _login(store)
    result = await store.sessions.rotate(first, client_id)
    assert result.token is not None
    assert (await store.sessions.rotate(first, client_id)).outcome == "reused"
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_reason == "refresh_token_reused"
    # The successor (held by whoever rotated first) is dead too.
    assert (await store.sessions.rotate(result.token, client_id)).outcome == "revoked"


async def test_refresh_token_is_stored_only_as_a_keyed_hash(store: IdentityStore) -> None:
    _, _, token = await _login(store)
    for table in ("oauth_sessions", "refresh_tokens"):
        for row in await store.db.fetch_all(f"SELECT * FROM {table}"):
            dump = " ".join(v.hex() if isinstance(v, bytes) else str(v) for v in row)
            assert token not in dump and token[3:] not in dump
            assert token[3:].encode().hex() not in dump


async def test_wrong_client_cannot_spend_and_does_not_revoke(store: IdentityStore) -> None:
    _session_id, client_id, token = await _login(store)
    other, _ = await store.clients.create("other", scopes=["read:buckets"])
    assert (await store.sessions.rotate(token, other.id)).outcome == "wrong_client"
    assert (await store.sessions.rotate(token, client_id)).outcome == "ok"


async def test_family_cap_is_absolute(store: IdentityStore) -> None:
    _, client_id, token = await _login(store, ttl=timedelta(hours=1))
    later = datetime.now(UTC) + timedelta(minutes=50)
    result = await store.sessions.rotate(token, client_id, now=later)
    assert result.outcome == "ok" and result.token is not None
    much_later = datetime.now(UTC) + timedelta(hours=2)
    assert (await store.sessions.rotate(result.token, client_id, now=much_later)).outcome == (
        "expired"
    )


async def test_a_token_unused_for_the_idle_lifetime_expires(store: IdentityStore) -> None:
    """RFC 9700 4.14.2: a refresh token an inactive client left unused expires, well
    before its family's cap; each rotation starts the idle clock again."""
    session_id, client_id, token = await _login(store, ttl=timedelta(days=60))
    idle = timedelta(days=14)
    start = datetime.now(UTC)
    day13 = start + timedelta(days=13)
    result = await store.sessions.rotate(token, client_id, now=day13, idle=idle)
    assert result.outcome == "ok" and result.token is not None
    # 26 days from login, 13 from the successor's issue: still live.
    day26 = day13 + timedelta(days=13)
    kept = await store.sessions.rotate(result.token, client_id, now=day26, idle=idle)
    assert kept.outcome == "ok" and kept.token is not None
    # 14 days unused (day 40 of 60): expired, not reuse (the family is not revoked).
    found = await store.sessions.find_refresh(kept.token)
    assert found is not None and not found.is_live(day26 + idle, idle)
    assert found.expires_at(idle) == min(found.session.expires_at, found.created_at + idle)
    late = await store.sessions.rotate(kept.token, client_id, now=day26 + idle, idle=idle)
    assert late.outcome == "expired"
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_at is None
    # Not spent, and without an idle limit only the cap counts.
    found = await store.sessions.find_refresh(kept.token)
    assert found is not None and not found.spent and found.is_live(day26 + idle, None)


async def test_unknown_and_malformed_tokens(store: IdentityStore) -> None:
    _, client_id, _ = await _login(store)
    assert (await store.sessions.rotate("rt_nope", client_id)).outcome == "unknown"
    assert (await store.sessions.rotate("sk_something", client_id)).outcome == "unknown"


async def test_disabling_a_user_revokes_sessions_and_enabling_does_not_revive(
    store: IdentityStore,
) -> None:
    session_id, client_id, token = await _login(store)
    user = await store.users.find("ALICE")  # usernames compare case-insensitively
    assert user is not None
    await store.users.update(user.id, disabled=True)
    assert (await store.sessions.rotate(token, client_id)).outcome == "revoked"
    await store.users.update(user.id, disabled=False)
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_reason == "user_disabled"


async def test_password_change_revokes_sessions(store: IdentityStore) -> None:
    session_id, _, _ = await _login(store)
    user = await store.users.find("alice")
    assert user is not None
    await store.users.update(user.id, password="new-password-2")
    assert await store.users.authenticate("alice", "password-1") is None
    assert await store.users.authenticate("alice", "new-password-2") is not None
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_reason == "password_changed"


async def test_deleting_user_or_client_deletes_sessions(store: IdentityStore) -> None:
    session_id, client_id, _ = await _login(store)
    assert await store.clients.delete(client_id)
    assert await store.sessions.get(session_id) is None


async def test_prune_drops_sessions_past_their_cap(store: IdentityStore) -> None:
    session_id, _, _ = await _login(store, ttl=timedelta(seconds=1))
    assert await store.sessions.prune(now=datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert await store.sessions.get(session_id) is None


async def test_authenticate_unknown_user_and_disabled_user(store: IdentityStore) -> None:
    user = await store.users.create("bob", "password-1", ["read:objects"])
    assert await store.users.authenticate("nobody", "password-1") is None
    assert await store.users.authenticate("bob", "wrong-password") is None
    await store.users.update(user.id, disabled=True)
    assert await store.users.authenticate("bob", "password-1") is None


async def test_client_secret_is_verified_and_stored_as_scrypt(store: IdentityStore) -> None:
    client, secret = await store.clients.create("app", scopes=["read:buckets"])
    assert secret.startswith("cs_")
    assert await store.clients.authenticate(client.id, secret) == client
    assert await store.clients.authenticate(client.id, secret + "x") is None
    assert await store.clients.authenticate("cl_UNKNOWN", secret) is None
    row = await store.db.fetch_one(
        "SELECT secret_hash FROM oauth_clients WHERE id = ?", (client.id,)
    )
    assert row is not None and str(row[0]).startswith("$scrypt$")


async def test_disabling_or_deleting_a_user_revokes_the_keys_they_minted(
    store: IdentityStore,
) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    alice = await store.users.create("keymaker", "password-1", ["read:objects"])
    bob = await store.users.create("keeper", "password-1", ["read:objects"])
    minted, _ = await store.create_key(
        "by alice", ["read:objects"], owner=alice.id, parent=Lineage((("user", alice.id),))
    )
    _nested, nested_secret = await store.create_key(
        "by alice's key", ["read:objects"], owner=minted.id, parent=Lineage.of(minted.principal())
    )
    kept, kept_secret = await store.create_key(
        "by bob", ["read:objects"], owner=bob.id, parent=Lineage((("user", bob.id),))
    )
    assert await store.find_by_secret(nested_secret, now) is not None

    await store.users.update(alice.id, disabled=True)
    assert await store.find_by_secret(nested_secret, now) is None
    assert await store.sigv4_secrets(minted.id, now) is None
    assert await store.sigv4_secrets(kept.id, now) is not None

    await store.users.delete(bob.id)
    assert await store.find_by_secret(kept_secret, now) is None


async def test_a_session_beyond_most_ends_the_oldest(store: IdentityStore) -> None:
    """``most`` bounds the rows a user's logins keep: the oldest sessions beyond it are
    deleted with their refresh tokens, a revoked one counting as any other."""
    user = await store.users.create("bob", "password-1", ["read:buckets"])
    client, _ = await store.clients.create("app", scopes=["read:buckets"])
    start = datetime.now(UTC)
    tokens: list[str] = []
    for minute in range(4):
        _, token = await store.sessions.start(
            user.id,
            client.id,
            ["read:buckets"],
            expires_at=start + timedelta(days=1),
            with_refresh=True,
            now=start + timedelta(minutes=minute),
            most=2,
        )
        assert token is not None
        tokens.append(token)
    assert [(await store.sessions.rotate(t, client.id)).outcome for t in tokens] == [
        "unknown",
        "unknown",
        "ok",
        "ok",
    ]
    rows = await store.db.fetch_all("SELECT id FROM oauth_sessions WHERE user_id = ?", (user.id,))
    assert len(rows) == 2
    # a session started at an earlier instant than the others (another host's clock)
    # is the one kept, with the newest other
    _, late = await store.sessions.start(
        user.id,
        client.id,
        ["read:buckets"],
        expires_at=start + timedelta(days=1),
        with_refresh=True,
        now=start - timedelta(hours=1),
        most=2,
    )
    assert late is not None
    assert [(await store.sessions.rotate(t, client.id)).outcome for t in (late, tokens[3])] == [
        "ok",
        "reused",
    ]


async def _rows(store: IdentityStore, session_id: str) -> int:
    row = await store.db.fetch_one(
        "SELECT count(*) FROM refresh_tokens WHERE session_id = ?", (session_id,)
    )
    assert row is not None
    return int(row[0])


async def test_a_session_keeps_one_token_row_however_often_it_is_refreshed(
    store: IdentityStore,
) -> None:
    """Each rotation kept the spent token's row until the family's cap (30 days): one
    row per refresh. The spent row now goes with the rotation; the family tag in every
    token still tells a spent one from an unknown one."""
    session_id, client_id, token = await _login(store)
    spent = [token]
    for _ in range(20):
        result = await store.sessions.rotate(spent[-1], client_id)
        assert result.outcome == "ok" and result.token is not None
        spent.append(result.token)
    assert await _rows(store, session_id) == 1
    live = spent.pop()
    for old in (spent[0], spent[-1]):
        found = await store.sessions.find_refresh(old)
        assert found is not None and found.spent and found.session.id == session_id
        assert not found.is_live(datetime.now(UTC), None)
    found = await store.sessions.find_refresh(live)
    assert found is not None and not found.spent


async def test_a_token_spent_many_rotations_ago_is_still_reuse(store: IdentityStore) -> None:
    """RFC 9700 4.14.2: an attacker who refreshed with a stolen token, then rotated the
    family away many times, is found out when the victim presents the token it holds:
    the whole family is revoked, the attacker's current token included."""
    session_id, client_id, stolen = await _login(store)
    current = stolen
    for _ in range(50):
        result = await store.sessions.rotate(current, client_id)
        assert result.token is not None
        current = result.token
    other, _ = await store.clients.create("other", scopes=["read:buckets"])
    assert (await store.sessions.rotate(stolen, other.id)).outcome == "wrong_client"
    assert (await store.sessions.rotate(stolen, client_id)).outcome == "reused"
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_reason == "refresh_token_reused"
    assert (await store.sessions.rotate(current, client_id)).outcome == "revoked"
    assert (await store.sessions.rotate(stolen, client_id)).outcome == "revoked"


async def test_a_token_with_a_forged_family_tag_is_unknown(store: IdentityStore) -> None:
    """The tag is an HMAC of the session id under the master key: knowing a session id
    (the ``sid`` of any access token) is not enough to revoke its family."""
    session_id, client_id, token = await _login(store)
    part = session_id.removeprefix("ses_")
    assert token.startswith(f"rt_{part}")
    forged = f"rt_{part}{'A' * 20}{token[-40:]}"
    assert await store.sessions.find_refresh(forged) is None
    assert (await store.sessions.rotate(forged, client_id)).outcome == "unknown"
    session = await store.sessions.get(session_id)
    assert session is not None and session.revoked_at is None
    assert (await store.sessions.rotate(token, client_id)).outcome == "ok"


async def test_an_untagged_token_from_before_is_kept_spent(store: IdentityStore) -> None:
    """A token issued before the family tag (``rt_`` + 40 random characters) has no
    tag to be known by: its row is marked used, as before, so its reuse is still seen;
    its successor carries the tag."""
    session_id, client_id, _ = await _login(store)
    legacy = "rt_" + "L" * 40
    await store.db.transaction(
        lambda tx: tx.execute(
            "UPDATE refresh_tokens SET lookup_hash = ? WHERE session_id = ?",
            (store.keyring.lookup_hash(legacy), session_id),
        )
    )
    result = await store.sessions.rotate(legacy, client_id)
    assert result.outcome == "ok" and result.token is not None
    assert result.token.startswith("rt_" + session_id.removeprefix("ses_"))
    assert await _rows(store, session_id) == 2
    assert (await store.sessions.rotate(legacy, client_id)).outcome == "reused"
