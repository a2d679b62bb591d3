"""Object ownership and ACL rows, and multipart-upload rows, on both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.identity.db import Row
from gateway.identity.object_acls import (
    FLAG_KIND,
    ObjectAcl,
    ObjectChanged,
    RowRead,
    UploadAcl,
    bucket_flag,
)
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import add_accounts
from tests.services.postgres import PostgresServer

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def micros(seconds: int) -> int:
    return int(at(seconds).timestamp()) * 1_000_000


async def test_a_bucket_without_rows_has_no_flag(store: IdentityStore) -> None:
    assert bucket_flag(await store.bucket_settings.all_for("b")) == (False, False)
    assert await store.object_acls.current("b", "k") is None


async def test_record_sets_the_flag_and_foreign_only_grows(store: IdentityStore) -> None:
    rows = store.object_acls
    await rows.record("b", "k", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0))
    assert bucket_flag(await store.bucket_settings.all_for("b")) == (True, False)
    await rows.record("b", "x", None, owner="acct_B", acl="{}", foreign=True, written_at=at(0))
    assert bucket_flag(await store.bucket_settings.all_for("b")) == (True, True)
    await rows.record("b", "y", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0))
    assert json.loads((await store.bucket_settings.all_for("b"))[FLAG_KIND]) == {"foreign": True}


async def test_current_is_the_most_recently_written_version(store: IdentityStore) -> None:
    rows = store.object_acls
    await rows.record("b", "k", "v2", owner="acct_B", acl="b2", foreign=True, written_at=at(2))
    await rows.record("b", "k", "v1", owner="acct_A", acl="a1", foreign=False, written_at=at(1))
    current = await rows.current("b", "k")
    assert current is not None and (current.version_id, current.owner) == ("v2", "acct_B")
    first = await rows.version("b", "k", "v1")
    assert first is not None and first.acl == "a1"
    await rows.forget("b", [("k", "v2")])
    current = await rows.current("b", "k")
    assert current is not None and current.version_id == "v1"
    # Rewriting the null version replaces its row.
    await rows.record("b", "n", None, owner="acct_A", acl="x", foreign=False, written_at=at(0))
    await rows.record("b", "n", None, owner="acct_B", acl="y", foreign=True, written_at=at(1))
    null = await rows.version("b", "n", "null")
    assert null is not None and (null.owner, null.acl) == ("acct_B", "y")


async def test_versions_of_one_whole_second_order_as_recorded(store: IdentityStore) -> None:
    """An upstream store's times are whole seconds and its version ids need not grow:
    within one second the version recorded last is the latest, and a new ACL on an
    older version leaves it where it was."""
    rows = store.object_acls
    for version in ("v9", "v5", "v1"):  # ids shrinking, as SeaweedFS's do
        await rows.record(
            "b", "k", version, owner="acct_A", acl=version, foreign=False, written_at=at(3)
        )
        current = await rows.current("b", "k")
        assert current is not None and current.version_id == version
    await rows.change_acl(
        "b", "k", "v9", owner="acct_A", acl="new", foreign=False, written_at=at(3)
    )
    current = await rows.current("b", "k")
    assert current is not None and current.version_id == "v1"
    # v9's row keeps its time (whole seconds, recorded first: the second itself)
    assert (await rows.version("b", "k", "v9")) == ObjectAcl("v9", "acct_A", "new", micros(3))
    # A later second orders by its time.
    await rows.record("b", "k", "v0", owner="acct_A", acl="x", foreign=False, written_at=at(4))
    current = await rows.current("b", "k")
    assert current is not None and current.version_id == "v0"


async def test_a_row_never_replaces_the_row_of_a_later_write(store: IdentityStore) -> None:
    """Two writes of the null version recorded in the other order than their objects
    were committed: the earlier write's row, recorded last, is refused (it replaced the
    later write's, whose private object then answered as ``public-read``)."""
    rows = store.object_acls
    later = await rows.record(
        "b", "k", None, owner="acct_A", acl="private", foreign=False, written_at=at(2)
    )
    earlier = await rows.record(
        "b", "k", None, owner="acct_B", acl="public", foreign=True, written_at=at(1)
    )
    # a tie (one second of an upstream store's times) is refused too: the storage says
    # which object is current (``gateway.s3.ownership.reclaim_row``)
    tie = await rows.record(
        "b", "k", None, owner="acct_B", acl="public", foreign=True, written_at=at(2)
    )
    assert (later, earlier, tie) == (True, False, False)
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_A", "private", micros(2))
    # the storage says the refused write's object is current after all (a clock that
    # stepped back): its row replaces the one that refused it, only while that one holds
    held = await rows.version("b", "k", "null")
    assert held is not None
    replaced = await rows.replace("b", "k", None, owner="acct_B", acl="public", held=held)
    assert replaced is True
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_B", "public", micros(2))
    again = await rows.replace("b", "k", None, owner="acct_C", acl="x", held=held)
    assert again is False


async def test_a_replaced_row_keeps_the_place_of_the_row_it_replaces(
    store: IdentityStore,
) -> None:
    """Versioned, two first rows of a key in one whole second: A's row (v9), then the
    default row that A's check gave the current version v1 (``settle``, after A's); v1's
    own row is refused, and the storage says v1 is current, so it replaces the default.
    At v1's own time it tied with A's row and the tie went by version id: A's ``public``
    answered for v1."""
    rows = store.object_acls
    await rows.record("b", "k", "v9", owner="acct_A", acl="public", foreign=True, written_at=at(1))
    await rows.settle("b", "k", "v1", owner="acct_O", acl="private", written_at=at(1), after=at(1))
    own = await rows.record(
        "b", "k", "v1", owner="acct_B", acl="own", foreign=True, written_at=at(1)
    )
    assert own is False
    held = await rows.version("b", "k", "v1")
    assert held is not None
    assert await rows.replace("b", "k", "v1", owner="acct_B", acl="own", held=held) is True
    current = await rows.current("b", "k")
    assert current is not None and (current.version_id, current.acl) == ("v1", "own")


async def test_change_acl_refuses_a_row_written_again_since_its_decision(
    store: IdentityStore,
) -> None:
    """PutObjectAcl's decided row: a key written again with the same owner and ACL is a
    new object (``written_at``, part of the row's equality), not the one decided for."""
    rows = store.object_acls
    await rows.record("b", "k", None, owner="acct_A", acl="x", foreign=False, written_at=at(1))
    decided = RowRead(None, await rows.current("b", "k"))
    await rows.record("b", "k", None, owner="acct_A", acl="x", foreign=False, written_at=at(2))
    with pytest.raises(ObjectChanged):
        await rows.change_acl(
            "b",
            "k",
            None,
            owner="acct_A",
            acl="public",
            foreign=False,
            written_at=at(1),
            decided=decided,
        )
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_A", "x", micros(2))


async def test_settle_writes_a_default_row_only_over_an_earlier_one(
    store: IdentityStore,
) -> None:
    """A write whose row stood but whose object is no longer current gives the current
    version (recorded without a row) the default row, after its own; a row of that
    version's own write stands."""
    rows = store.object_acls
    await rows.record("b", "k", None, owner="acct_B", acl="public", foreign=True, written_at=at(1))
    await rows.settle("b", "k", None, owner="acct_A", acl="private", written_at=at(1), after=at(1))
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_A", "private", micros(1) + 1)
    # versioned: the current version gets its row, the writer's version keeps its own
    await rows.record("b", "v", "v1", owner="acct_B", acl="public", foreign=True, written_at=at(1))
    await rows.record("b", "v", "v3", owner="acct_B", acl="own", foreign=True, written_at=at(3))
    for version in ("v2", "v3"):
        await rows.settle(
            "b", "v", version, owner="acct_A", acl="private", written_at=at(2), after=at(1)
        )
    assert await rows.version("b", "v", "v1") == ObjectAcl("v1", "acct_B", "public", micros(1))
    assert await rows.version("b", "v", "v2") == ObjectAcl("v2", "acct_A", "private", micros(2))
    assert await rows.version("b", "v", "v3") == ObjectAcl("v3", "acct_B", "own", micros(3))


async def test_settle_leaves_a_row_the_current_write_put_in_the_same_second(
    store: IdentityStore,
) -> None:
    """Two first rows of the null version in one upstream second: A's stood, B's (the
    current object's) was refused and replaced A's at A's time (``replace``); A's check
    then finds B's object current. Its default row went over B's by time alone, and B
    lost its ACL (and, another account's write, its object); it settles only over A's
    own row now."""
    rows = store.object_acls
    await rows.record("b", "k", None, owner="acct_A", acl="a", foreign=True, written_at=at(1))
    assert not await rows.record(
        "b", "k", None, owner="acct_B", acl="b", foreign=True, written_at=at(1)
    )
    held = await rows.version("b", "k", "null")
    assert held is not None
    assert await rows.replace("b", "k", None, owner="acct_B", acl="b", held=held)
    await rows.settle(
        "b",
        "k",
        None,
        owner="acct_O",
        acl="private",
        written_at=at(1),
        after=at(1),
        over=("acct_A", "a"),
    )
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_B", "b", micros(1))
    # over the finder's own row, the default goes in
    await rows.settle(
        "b",
        "k",
        None,
        owner="acct_O",
        acl="private",
        written_at=at(1),
        after=at(1),
        over=("acct_B", "b"),
    )
    assert await rows.current("b", "k") == ObjectAcl("null", "acct_O", "private", micros(1) + 1)


async def test_a_write_without_a_row_sees_rows_begun_since_its_decision(
    open_store: Callable[..., Awaitable[IdentityStore]],
) -> None:
    """``rows_begun_elsewhere`` after a write that needed no row: yes once another
    worker's (or host's) write began the bucket's rows, on SQLite too (it said no there,
    and a write overlapping it could leave its row answering for this one's object)."""
    one, two = await open_store(), await open_store()
    try:
        assert await one.object_acls.rows_begun_elsewhere("b") is False
        assert await one.object_acls.rows_begun_elsewhere("b") is False
        await two.object_acls.record(
            "b", "k", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0)
        )
        assert await one.object_acls.rows_begun_elsewhere("b") is True
        assert await one.object_acls.rows_begun_elsewhere("other") is False
    finally:
        await one.close()
        await two.close()


async def test_owners_between_covers_the_page_keys(store: IdentityStore) -> None:
    rows = store.object_acls
    for key, owner in (("a", "acct_1"), ("b", "acct_2"), ("c", "acct_3"), ("d", "acct_4")):
        await rows.record("bk", key, None, owner=owner, acl="{}", foreign=True, written_at=at(0))
    found = await rows.owners_between("bk", "b", "c")
    assert found == {"b": {"null": "acct_2"}, "c": {"null": "acct_3"}}


async def test_uploads_and_completion(store: IdentityStore) -> None:
    rows = store.object_acls
    upload = UploadAcl("up-1", "key", "acct_B", "acct_B", '{"acl": 1}')
    await rows.record_upload("b", upload, foreign=True)
    assert await rows.upload("b", "up-1") == upload
    assert await rows.uploads("b", ["up-1", "up-2"]) == {"up-1": upload}
    await rows.complete_upload("b", upload, None, foreign=True, written_at=at(0))
    assert await rows.upload("b", "up-1") is None
    done = await rows.current("b", "key")
    assert done is not None and (done.owner, done.acl) == ("acct_B", '{"acl": 1}')
    # a second completion of the upload (authorised before the first ended) moves nothing
    await rows.record("b", "key", None, owner="acct_B", acl="{}", foreign=True, written_at=at(1))
    await rows.complete_upload("b", upload, None, foreign=True, written_at=at(2))
    again = await rows.current("b", "key")
    assert again is not None and again.acl == "{}"
    other = UploadAcl("up-2", "key2", "anonymous", "acct_A", "{}")
    await rows.record_upload("b", other, foreign=False)
    await rows.forget_upload("b", "up-2")
    assert await rows.upload("b", "up-2") is None


async def test_forget_bucket_drops_rows_of_that_bucket_only(store: IdentityStore) -> None:
    rows = store.object_acls
    await rows.record("gone", "k", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0))
    await rows.record_upload("gone", UploadAcl("u", "k", "acct_A", "acct_A", "{}"), foreign=False)
    await rows.record("kept", "k", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0))
    await rows.forget_bucket("gone")
    assert await rows.current("gone", "k") is None
    assert await rows.upload("gone", "u") is None
    assert await rows.current("kept", "k") is not None


async def test_claiming_a_bucket_name_is_atomic(store: IdentityStore) -> None:
    await add_accounts(store, "acct_A", "acct_B")
    settings = store.bucket_settings
    assert await settings.claim_owner("name", "acct_A") is True
    assert await settings.claim_owner("name", "acct_B") is False
    assert await settings.get("name", "owner") == "acct_A"
    await settings.claim_owner("other", "acct_B")
    assert await settings.of_kind("owner") == {"name": "acct_A", "other": "acct_B"}


async def test_asks_of_one_bucket_share_a_read_never_one_begun_before_them(
    postgres_server: PostgresServer, data_dir: Path, master_key: bytes
) -> None:
    """``rows_begun_elsewhere`` on PostgreSQL (two hosts): asks arriving while a read of
    the bucket is in flight share the next read, and never take the answer of the one in
    flight, which began before the flag another host committed meanwhile."""
    url = await postgres_server.fresh_url()
    host_a = await IdentityStore.open(data_dir / "a", master_key, url=url)
    host_b = await IdentityStore.open(data_dir / "b", master_key, url=url)
    try:
        db = host_b.object_acls._db
        real = db.fetch_one
        began = 0
        reads: list[asyncio.Event] = []
        read_done = asyncio.Event()

        async def held_read(sql: str, params: Sequence[object] = ()) -> Row | None:
            """The real read, its answer held until the test lets it go."""
            nonlocal began
            began += 1
            row = await real(sql, params)
            release = asyncio.Event()
            reads.append(release)
            read_done.set()
            await release.wait()
            return row

        db.fetch_one = held_read  # type: ignore[method-assign]
        first = asyncio.ensure_future(host_b.object_acls.rows_begun_elsewhere("b"))
        await read_done.wait()  # B's first read is in, answered "no rows"; then A begins them
        await host_a.object_acls.record(
            "b", "k", None, owner="acct_A", acl="{}", foreign=False, written_at=at(0)
        )
        later = [
            asyncio.ensure_future(host_b.object_acls.rows_begun_elsewhere("b")) for _ in range(5)
        ]
        for _ in range(3):
            await asyncio.sleep(0)  # each later ask runs up to its first wait
        assert began == 1  # the later asks wait for the read in flight to end
        read_done.clear()
        reads[0].set()
        assert await first is False
        await read_done.wait()
        assert began == len(reads) == 2  # one read for the five
        reads[1].set()
        assert await asyncio.gather(*later) == [True] * 5
    finally:
        await host_a.close()
        await host_b.close()
