"""``ClientStore.ensure``: the gateway's own first-party client (the web console), on both
databases. Registered once however many workers or hosts race; no secret ever works."""

from __future__ import annotations

import asyncio

from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore

ID = "cl_console"


async def _ensure(store: IdentityStore) -> object:
    return await store.clients.ensure(
        ID, "web console", grant_types=("password", "refresh_token"), scopes=["admin"]
    )


async def test_registered_once_and_kept(store: IdentityStore) -> None:
    first = await _ensure(store)
    again = await _ensure(store)
    assert first == again
    client = await store.clients.get(ID)
    assert client is not None
    assert client.grant_types == ("password", "refresh_token")
    assert client.scopes == frozenset({"admin"})
    page, _ = await store.clients.list_page()
    assert [c.id for c in page].count(ID) == 1


async def test_two_hosts_racing_register_it_once(open_store: OpenStore) -> None:
    one, two = await open_store(), await open_store()
    try:
        results = await asyncio.gather(_ensure(one), _ensure(two), _ensure(one))
        assert len({repr(r) for r in results}) == 1
        page, _ = await one.clients.list_page()
        assert [c.id for c in page].count(ID) == 1
    finally:
        await one.close()
        await two.close()


async def test_no_secret_authenticates_it(store: IdentityStore) -> None:
    await _ensure(store)
    for guess in ("", "cs_", "web console", ID):
        assert await store.clients.authenticate(ID, guess) is None
