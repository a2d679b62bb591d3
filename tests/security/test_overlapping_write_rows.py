"""Of two overlapping writes of one key, the one committed last keeps its own owner and
ACL, whatever the order their ownership rows are recorded in.

A bucket keeps per-object ownership rows only once one was needed (a ``public-read``
object, another account's); a write decided while the bucket had none records none. The
owner's private PutObject, decided at its head while the bucket had no rows, sent its body
while a ``public-read`` PutObject of the same key began the bucket's rows: the private
object was committed last, without a row, and the ``public-read`` row answered for it,
to anyone, for good. Now a write that needed no row asks again after its commit, and the
private object is the owner's and private.

The other order: the ``public-read`` write's object is committed first, the private one
is committed and asks (no rows yet: the other's row is still waiting, here for a lock the
test holds on PostgreSQL's ``object_acls``), and then the ``public-read`` row begins the
bucket's rows. That write, which saw the bucket without rows, now asks the storage
whether its object is still the key's current one, and gives the one that is its default
row.

Both writes with rows, recorded in the other order than their objects: a ``public-read``
upload's completion committed its object, its row waited (a lock on the upload's row),
the owner's private PutObject recorded its row, and the completion's row then replaced
it. A row never replaces the version's row of a later write now.

An upstream store's times are whole seconds: two writes of one key in one second tie,
and the later row is refused too; the storage then says whose object is current (a
HEAD), and a rewrite within the second keeps its own ACL.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.e2e.conftest import upstream_env
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.tenants import Tenant, anonymous_read, new_tenant
from tests.security.held_body import held_body, signed_as
from tests.services.postgres import PostgresServer
from tests.services.seaweedfs import SeaweedFS


def _rows_bucket(gw: Gateway, versioned: bool = False) -> tuple[Tenant, Any, str]:
    """A new tenant, its client and a new bucket of its (versioning on when asked)."""
    owner = new_tenant(gw, "rows")
    s3: Any = owner.client()
    bucket = f"rows-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return owner, s3, bucket


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Two worker processes on one SQLite state store: each write may be another's."""
    yield from own_gateway(tmp_path_factory, "rows-workers", extra_env={"NFYIO_WORKERS": "2"})


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("gateway_name", ["gateway", "two_workers", "pg_gateway"])
def test_a_private_write_committed_last_is_not_served_under_a_public_row(
    request: pytest.FixtureRequest, gateway_name: str, versioned: bool
) -> None:
    gw: Gateway = request.getfixturevalue(gateway_name)
    owner, s3, bucket = _rows_bucket(gw, versioned)
    target = f"/{bucket}/k"
    body = b"private bytes"
    published: dict[str, Any] = {}

    head = signed_as(gw, owner, "PUT", target, body)
    with held_body(gw.s3_port, "PUT", target, head, body) as held:  # decided: no rows
        published.update(
            s3.put_object(Bucket=bucket, Key="k", Body=b"published", ACL="public-read")
        )
        answer = held.send()
    assert answer.status == 200, answer.body

    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    assert anonymous_read(gw, target) == (403, b"")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [
        (owner.canonical_id, "FULL_CONTROL")
    ]
    if versioned:  # the public version keeps its own row
        version = published["VersionId"]
        assert anonymous_read(gw, f"{target}?versionId={version}") == (200, b"published")


@pytest.fixture(scope="module")
def locked_gateway(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[tuple[Gateway, str]]:
    """A gateway whose state is in a PostgreSQL schema the test reaches too (its URL)."""
    url = asyncio.run(postgres_server.fresh_url())
    env = {
        "NFYIO_IDENTITY_URL": url,
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    for gw in own_gateway(tmp_path_factory, "rows-locked", extra_env=env):
        yield gw, url


def _body(s3: Any, bucket: str) -> bytes:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key="k")["Body"].read())
    except s3.exceptions.NoSuchKey:
        return b""


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
async def test_a_public_row_recorded_after_a_later_private_write_does_not_answer_for_it(
    locked_gateway: tuple[Gateway, str], versioned: bool
) -> None:
    gw, url = locked_gateway
    _, s3, bucket = await asyncio.to_thread(_rows_bucket, gw, versioned)
    conn = await asyncpg.connect(url)
    try:
        held = conn.transaction()
        await held.start()
        await conn.execute("LOCK TABLE object_acls IN EXCLUSIVE MODE")  # reads go on
        published = asyncio.ensure_future(
            asyncio.to_thread(
                s3.put_object, Bucket=bucket, Key="k", Body=b"published", ACL="public-read"
            )
        )
        while await asyncio.to_thread(_body, s3, bucket) != b"published":
            await asyncio.sleep(0.02)  # committed; its row waits for the lock
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="k", Body=b"private")
        await held.rollback()
        answer = await published
        version = answer["VersionId"] if versioned else None
    finally:
        await conn.close()

    assert await asyncio.to_thread(_body, s3, bucket) == b"private"
    assert await asyncio.to_thread(anonymous_read, gw, f"/{bucket}/k") == (403, b"")
    if version is not None:  # the public version keeps its own row
        target = f"/{bucket}/k?versionId={version}"
        assert await asyncio.to_thread(anonymous_read, gw, target) == (200, b"published")


async def test_a_row_recorded_late_never_replaces_a_later_writes_row(
    locked_gateway: tuple[Gateway, str],
) -> None:
    gw, url = locked_gateway
    _, s3, bucket = await asyncio.to_thread(_rows_bucket, gw)
    upload = await asyncio.to_thread(
        s3.create_multipart_upload, Bucket=bucket, Key="k", ACL="public-read"
    )
    upload_id = upload["UploadId"]
    part = await asyncio.to_thread(
        s3.upload_part, Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"published"
    )
    conn = await asyncpg.connect(url)
    try:
        held = conn.transaction()
        await held.start()
        await conn.execute("SELECT 1 FROM upload_acls WHERE upload_id = $1 FOR UPDATE", upload_id)
        completed = asyncio.ensure_future(
            asyncio.to_thread(
                s3.complete_multipart_upload,
                Bucket=bucket,
                Key="k",
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            )
        )
        while await asyncio.to_thread(_body, s3, bucket) != b"published":
            await asyncio.sleep(0.02)  # committed; its row waits for the lock
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="k", Body=b"private")
        await held.rollback()
        await completed
    finally:
        await conn.close()

    assert await asyncio.to_thread(_body, s3, bucket) == b"private"
    assert await asyncio.to_thread(anonymous_read, gw, f"/{bucket}/k") == (403, b"")


@pytest.fixture(scope="module")
def upstream_gateway(
    tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS
) -> Iterator[Gateway]:
    env = upstream_env(seaweedfs.endpoint_url, seaweedfs.access_key, seaweedfs.secret_key)
    yield from own_gateway(tmp_path_factory, "rows-upstream", extra_env=env)


def test_rewrites_within_one_second_of_an_upstream_store_keep_their_own_acl(
    upstream_gateway: Gateway,
) -> None:
    gw = upstream_gateway
    _, s3, bucket = _rows_bucket(gw)
    for round_ in range(3):  # back to back: most land in the second of the one before
        s3.put_object(Bucket=bucket, Key="k", Body=b"published", ACL="public-read")
        assert anonymous_read(gw, f"/{bucket}/k") == (200, b"published"), round_
        s3.put_object(Bucket=bucket, Key="k", Body=b"private")
        assert anonymous_read(gw, f"/{bucket}/k") == (403, b""), round_


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
async def test_a_private_write_committed_while_an_acl_waits_is_not_served_under_it(
    locked_gateway: tuple[Gateway, str], versioned: bool
) -> None:
    """PutObjectAcl ``public-read`` on a key of a bucket without rows: its row waits (a
    lock the test holds), the owner's private PutObject commits meanwhile and asks
    whether the bucket keeps rows (not yet), then the ACL's row begins them. The ACL,
    which found no row, asks the storage which object is current and gives the private
    one its default row."""
    gw, url = locked_gateway
    _, s3, bucket = await asyncio.to_thread(_rows_bucket, gw, versioned)
    await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="k", Body=b"published")
    conn = await asyncpg.connect(url)
    try:
        held = conn.transaction()
        await held.start()
        await conn.execute("LOCK TABLE object_acls IN EXCLUSIVE MODE")  # reads go on
        acl = asyncio.ensure_future(
            asyncio.to_thread(s3.put_object_acl, Bucket=bucket, Key="k", ACL="public-read")
        )
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass"
        while not await conn.fetchval(waiting, "object_acls"):
            await asyncio.sleep(0.02)  # the ACL's row waits for the lock
        await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="k", Body=b"private")
        await held.rollback()
        await acl
    finally:
        await conn.close()

    assert await asyncio.to_thread(_body, s3, bucket) == b"private"
    assert await asyncio.to_thread(anonymous_read, gw, f"/{bucket}/k") == (403, b"")
