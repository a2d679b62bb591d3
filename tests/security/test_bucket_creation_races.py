"""Class: two CreateBuckets of one name by the same account, at once on two hosts, hand
the bucket to the system account.

CreateBucket claims the name in the state store, then creates the bucket in the backend,
and releases the claim if the backend already has the bucket (one made directly in the
store, without an owner: the system account's). A second CreateBucket by the same
account, on another host, found the claim its own account's and created the bucket in the
backend first; the claiming request then found it there, took it for such a bucket and
released the claim: the creator's own bucket was left without an owner, so it belonged to
the system account and the account that made it was refused its own objects
(``AccessDenied``). A probe hit it about once in 30 races of plain boto3 creations.
Now a creation looks for the bucket before it claims the name, and keeps its claim
(answering ``BucketAlreadyOwnedByYou``) when the bucket appeared after that
(``gateway/s3/bucket_owners.py``).

The interleaving is made certain here: the test holds a row the claiming request writes
right after its claim (the bucket's ownership setting, an uncommitted insert), so that
request waits between its claim and the backend while the other host creates the bucket.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from botocore.exceptions import ClientError

from tests.e2e.tenants import new_tenant
from tests.services.postgres import PostgresServer
from tests.services.seaweedfs import SeaweedFS
from tests.services.topology import Topology

WAIT = 60.0
"""The longest the test waits for the claiming request to reach the held row."""


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    seaweedfs: SeaweedFS,
) -> Iterator[Topology]:
    running = Topology.start(
        tmp_path_factory.mktemp("creation-races"),
        asyncio.run(postgres_server.fresh_url()),
        seaweedfs,
    )
    yield running
    running.stop()


def _schema(topology: Topology) -> str:
    return parse_qs(urlsplit(topology.env["NFYIO_IDENTITY_URL"]).query)["search_path"][0]


async def _hold_ownership_row(
    postgres_server: PostgresServer,
    schema: str,
    bucket: str,
    holding: threading.Event,
    claimed: threading.Event,
    release: threading.Event,
) -> None:
    """Insert (uncommitted) the bucket's ``ownership`` setting; set ``claimed`` once the
    owner claim is committed and another session waits for this row; roll back at
    ``release``."""
    holder = await asyncpg.connect(postgres_server.url())
    watcher = await asyncpg.connect(postgres_server.url())
    try:
        async with holder.transaction():
            await holder.execute(
                f"INSERT INTO {schema}.bucket_settings (bucket, kind, document, updated_at)"
                " VALUES ($1, 'ownership', 'ObjectWriter', 0)",
                bucket,
            )
            holding.set()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while loop.time() < deadline:
                owner = await watcher.fetchval(
                    f"SELECT document FROM {schema}.bucket_settings"
                    " WHERE bucket = $1 AND kind = 'owner'",
                    bucket,
                )
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND pid <> $1",
                    holder.get_server_pid(),
                )
                if owner is not None and waiting:
                    claimed.set()
                    break
                await asyncio.sleep(0.05)
            await asyncio.to_thread(release.wait, WAIT)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await holder.close()
        await watcher.close()


class _Rollback(Exception):
    """Leaves the holding transaction uncommitted."""


def _outcome(call: Any, **kwargs: Any) -> str:
    try:
        call(**kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "created"


def test_two_creations_of_one_name_by_its_account_keep_it_the_accounts(
    topology: Topology, postgres_server: PostgresServer
) -> None:
    host_a, host_b = topology.hosts[0], topology.hosts[1]
    tenant = new_tenant(host_a, "twice")
    on_a: Any = host_a.client(tenant.key_id, tenant.secret)
    on_b: Any = host_b.client(tenant.key_id, tenant.secret)
    bucket = f"twice-{uuid.uuid4().hex[:12]}"

    holding, claimed, release = threading.Event(), threading.Event(), threading.Event()
    holder = threading.Thread(
        target=asyncio.run,
        args=(
            _hold_ownership_row(
                postgres_server, _schema(topology), bucket, holding, claimed, release
            ),
        ),
    )
    outcomes: dict[str, str] = {}
    first = threading.Thread(
        target=lambda: outcomes.__setitem__(
            "a", _outcome(on_a.create_bucket, Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
        )
    )
    holder.start()
    try:
        assert holding.wait(WAIT)
        first.start()
        # Host A claimed the name and waits for the held row; host B creates the bucket.
        assert claimed.wait(WAIT), "host A never reached the held row"
        outcomes["b"] = _outcome(on_b.create_bucket, Bucket=bucket)
    finally:
        release.set()
        holder.join()
        if first.ident is not None:
            first.join()

    assert outcomes == {"a": "BucketAlreadyOwnedByYou", "b": "created"}, outcomes
    # The bucket is the account's, on both hosts: its objects, its listing, its ACL.
    on_a.put_object(Bucket=bucket, Key="k", Body=b"mine")
    assert on_b.get_object(Bucket=bucket, Key="k")["Body"].read() == b"mine"
    assert bucket in {b["Name"] for b in on_b.list_buckets()["Buckets"]}
    owner = on_a.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert owner == tenant.canonical_id
