"""Signing keys of the identity store: created once, sealed at rest, rotated with an
overlap during which the JWKS serves both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.identity.store import IdentityStore


async def test_first_key_is_created_once_and_sealed(store: IdentityStore) -> None:
    kid = await store.signing_keys.ensure_active()
    assert await store.signing_keys.ensure_active() == kid
    rows = await store.db.fetch_all("SELECT private_enc FROM signing_keys")
    assert len(rows) == 1
    assert b"PRIVATE KEY" not in bytes(rows[0][0])


async def test_rotation_serves_old_key_during_overlap_only(store: IdentityStore) -> None:
    keys = store.signing_keys
    old = await keys.ensure_active()
    now = datetime.now(UTC)
    new = await keys.rotate(overlap=timedelta(hours=1), now=now)
    active = await keys.active()
    assert active is not None and active[0] == new
    assert {k["kid"] for k in await keys.jwks(now)} == {old, new}
    assert await keys.public_key(old, now + timedelta(minutes=59)) is not None
    after = now + timedelta(hours=1, seconds=1)
    assert await keys.public_key(old, after) is None
    assert {k["kid"] for k in await keys.jwks(after)} == {new}
    assert await keys.prune(now=after) == [old]
    assert [k.kid for k in await keys.all()] == [new]


async def test_remove_refuses_the_active_key(store: IdentityStore) -> None:
    keys = store.signing_keys
    old = await keys.ensure_active()
    assert not await keys.remove(old)
    await keys.rotate(overlap=timedelta(hours=1))
    assert await keys.remove(old)
    assert await keys.public_key(old, datetime.now(UTC)) is None


async def test_jwks_has_no_private_parts(store: IdentityStore) -> None:
    await store.signing_keys.ensure_active()
    await store.signing_keys.rotate(overlap=timedelta(hours=1))
    jwks = await store.signing_keys.jwks(datetime.now(UTC))
    assert len(jwks) == 2  # the active key and the one in its overlap
    for jwk in jwks:
        assert set(jwk) >= {"kty", "n", "e", "kid", "alg", "use"}
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


async def test_kids_never_begin_with_a_dash(store: IdentityStore) -> None:
    """A kid is typed on a command line (``jwt remove <kid>``), where one beginning with
    "-" reads as an option: base64url ids did, one time in 32. Prefixed like every id."""
    kids = [await store.signing_keys.ensure_active()]
    kids.append(await store.signing_keys.rotate(overlap=timedelta(hours=1)))
    assert all(kid.startswith("kid_") and len(kid) == 24 for kid in kids)
