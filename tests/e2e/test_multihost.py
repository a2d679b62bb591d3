"""Two gateway hosts, one PostgreSQL, one SeaweedFS: one gateway to clients (issue 16).

Host A and host B are two ``nfyio-gateway serve`` processes with their own data
directories and ports (``tests/services/topology.py``), both ``NFYIO_BACKEND=s3`` over one
SeaweedFS and ``NFYIO_IDENTITY_URL=postgresql://...`` on one PostgreSQL, with the same
master key and OAuth issuer. Every test drives both with real clients (boto3, plain
HTTP), as a load balancer would hand a client's requests to either host.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, get_json, start_gateway
from tests.e2e.oauth_util import Reply, make_setup
from tests.e2e.oauth_util import call as http
from tests.e2e.rest_util import ADMIN, bearer, call, make_key
from tests.e2e.tenants import new_tenant
from tests.services.postgres import PostgresServer
from tests.services.seaweedfs import SeaweedFS
from tests.services.topology import Topology

pytestmark = pytest.mark.multihost

MiB = 1024 * 1024
SCOPES = ["read:buckets", "write:buckets", "read:objects", "write:objects"]
BUCKET_LIMIT = 8
"""``s3.max_buckets_per_account`` on both hosts (the root account's few buckets here stay
under it)."""


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    seaweedfs: SeaweedFS,
) -> Iterator[Topology]:
    running = Topology.start(
        tmp_path_factory.mktemp("multihost"),
        asyncio.run(postgres_server.fresh_url()),
        seaweedfs,
        # A block long enough that a loaded machine still sees it (throttle test).
        extra_env={
            "NFYIO_AUTH_THROTTLE_BASE_DELAY": "60",
            "NFYIO_S3_MAX_BUCKETS_PER_ACCOUNT": str(BUCKET_LIMIT),
        },
    )
    yield running
    running.stop()


@pytest.fixture
def hosts(topology: Topology) -> tuple[Gateway, Gateway]:
    first, second = topology.hosts
    return first, second


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def new_bucket(host: Gateway) -> str:
    name = f"mh-{uuid.uuid4().hex[:12]}"
    host.client().create_bucket(Bucket=name)
    return name


def test_an_object_written_through_one_host_is_read_through_the_other(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    s3_a, s3_b = host_a.client(), host_b.client()
    bucket = new_bucket(host_a)
    assert bucket in {b["Name"] for b in s3_b.list_buckets()["Buckets"]}
    s3_b.head_bucket(Bucket=bucket)

    small, large = b"written through A", os.urandom(9 * MiB + 17)  # spooled / streamed
    s3_a.put_object(Bucket=bucket, Key="small.txt", Body=small, Metadata={"host": "a"})
    s3_a.put_object(Bucket=bucket, Key="dir/large.bin", Body=large)
    got = s3_b.get_object(Bucket=bucket, Key="small.txt")
    assert got["Body"].read() == small and got["Metadata"] == {"host": "a"}
    assert got["ETag"] == f'"{hashlib.md5(small).hexdigest()}"'
    body = s3_b.get_object(Bucket=bucket, Key="dir/large.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(large).digest()
    ranged = s3_b.get_object(Bucket=bucket, Key="dir/large.bin", Range="bytes=5-9")
    assert ranged["Body"].read() == large[5:10]
    listed = s3_b.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["small.txt"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["dir/"]

    # Copied on B, deleted on B: A sees both at once.
    s3_b.copy_object(
        Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "small.txt"}
    )
    assert s3_a.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == small
    s3_b.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": k} for k in ("small.txt", "copy.txt", "dir/large.bin")]},
    )
    with pytest.raises(ClientError) as gone:
        s3_a.head_object(Bucket=bucket, Key="small.txt")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3_a.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as no_bucket:
        s3_b.head_bucket(Bucket=bucket)
    assert no_bucket.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_key_made_on_one_host_works_on_the_other_and_revocation_applies_everywhere(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    key = make_key(host_a, name="multihost", scopes=SCOPES)
    bucket = new_bucket(host_a)
    # Created on A's API, used on B at once: SigV4 and Bearer.
    s3_b = host_b.client(key["id"], key["secret"])
    s3_b.put_object(Bucket=bucket, Key="k", Body=b"by a key made on A")
    status, _, me = call(host_b, "GET", "/v1/me", headers=bearer(key["secret"]))
    assert status == 200 and json.loads(me)["key_id"] == key["id"]
    s3_a = host_a.client(key["id"], key["secret"])
    assert s3_a.get_object(Bucket=bucket, Key="k")["Body"].read() == b"by a key made on A"

    # Revoked through B's API; A refuses the very next request, SigV4 and Bearer alike.
    status, _, body = call(host_b, "DELETE", f"/v1/access-keys/{key['id']}", headers=ADMIN)
    assert status == 204, body
    with pytest.raises(ClientError) as refused:
        s3_a.get_object(Bucket=bucket, Key="k")
    assert error_code(refused) == "InvalidAccessKeyId"
    status, _, _ = call(host_a, "GET", "/v1/me", headers=bearer(key["secret"]))
    assert status == 401


def _login(host: Gateway, setup: Any, address: str, **form: str) -> Reply:
    """POST /oauth/token on ``host`` as a client behind the balancer at ``address``."""
    return http(
        f"{host.api_url}/oauth/token",
        "POST",
        form={**form, **setup.creds()},
        headers={"X-Forwarded-For": address},
    )


def _address() -> str:
    """A client address of this test's own (the throttle also counts per address)."""
    raw = uuid.uuid4().bytes
    return f"198.51.{raw[0]}.{raw[1]}"


def test_a_refresh_token_rotated_on_one_host_and_replayed_on_the_other_revokes_the_family(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    setup = make_setup(host_a)
    address = _address()
    password = {"grant_type": "password", "username": setup.username, "password": setup.password}
    first = _login(host_a, setup, address, **password)
    assert first.status == 200, first.body
    tokens = first.json()
    # A's access token is good on B (one issuer, one signing key set).
    assert http(f"{host_b.api_url}/v1/me", headers=bearer(tokens["access_token"])).status == 200

    rotated = _login(
        host_a, setup, address, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert rotated.status == 200, rotated.body
    newest = rotated.json()
    assert newest["refresh_token"] != tokens["refresh_token"]

    # The rotated-away token replayed on B: refused, and the whole family dies everywhere.
    replay = _login(
        host_b, setup, address, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert replay.status == 400 and replay.json()["error"] == "invalid_grant"
    latest = _login(
        host_a, setup, address, grant_type="refresh_token", refresh_token=newest["refresh_token"]
    )
    assert latest.status == 400 and latest.json()["error"] == "invalid_grant"
    for host in hosts:
        for access in (tokens["access_token"], newest["access_token"]):
            reply = http(f"{host.api_url}/v1/me", headers=bearer(access))
            assert reply.status == 401, (host.api_url, reply.body)


def test_the_password_throttle_counts_failures_on_every_host(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    setup = make_setup(host_a)
    address = _address()
    wrong = {"grant_type": "password", "username": setup.username, "password": "wrong-guess"}
    right = {"grant_type": "password", "username": setup.username, "password": setup.password}
    # Five failures (the threshold), alternating: no host saw more than three of them.
    for host in (host_a, host_b, host_a, host_b, host_a):
        reply = _login(host, setup, address, **wrong)
        assert reply.status == 400 and reply.json()["error"] == "invalid_grant", reply.body
    # Both hosts now refuse even the right password: they count in the shared store.
    for host in (host_b, host_a):
        blocked = _login(host, setup, address, **right)
        assert blocked.status == 429, (host.api_url, blocked.body)
        assert blocked.json()["error"] == "slow_down"
        assert int(blocked.headers["Retry-After"]) >= 1


def test_a_multipart_upload_started_on_one_host_is_completed_on_the_other(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    s3_a, s3_b = host_a.client(), host_b.client()
    bucket = new_bucket(host_a)
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail" * 1000]
    upload_id = s3_a.create_multipart_upload(
        Bucket=bucket, Key="mp.bin", ContentType="application/x-mp", ChecksumAlgorithm="CRC32"
    )["UploadId"]
    # Each part through another host, as a balancer spreads one client's connections.
    done = []
    for number, (data, s3) in enumerate(zip(parts, (s3_a, s3_b, s3_a), strict=True), start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key="mp.bin",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        assert answer["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        done.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]}
        )
    uploads = s3_b.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp.bin", upload_id)]
    listed = s3_b.list_parts(Bucket=bucket, Key="mp.bin", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [
        (d["PartNumber"], d["ETag"]) for d in done
    ]

    completed = s3_b.complete_multipart_upload(
        Bucket=bucket, Key="mp.bin", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert completed["ETag"] == f'"{digest}-3"'
    got = s3_a.get_object(Bucket=bucket, Key="mp.bin")
    assert got["ETag"] == completed["ETag"] and got["ContentType"] == "application/x-mp"
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(b"".join(parts)).digest()
    assert s3_a.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    # Started on B, aborted on A: gone for both.
    other = s3_b.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3_b.upload_part(Bucket=bucket, Key="aborted", UploadId=other, PartNumber=1, Body=b"x")
    s3_a.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=other)
    with pytest.raises(ClientError) as aborted:
        s3_b.list_parts(Bucket=bucket, Key="aborted", UploadId=other)
    assert error_code(aborted) == "NoSuchUpload"


def test_the_bucket_limit_holds_across_hosts(hosts: tuple[Gateway, Gateway]) -> None:
    """An account's buckets are counted in the shared state store: creations racing on
    both hosts stop at the limit exactly (SERIALIZABLE claims, one retried)."""
    first, second = hosts
    tenant = new_tenant(first)
    for _ in range(BUCKET_LIMIT - 2):
        first.client(tenant.key_id, tenant.secret).create_bucket(Bucket=f"mh-{uuid.uuid4().hex}")
    clients = [host.client(tenant.key_id, tenant.secret) for host in (first, second) * 4]

    def create(client: Any) -> str:
        try:
            client.create_bucket(Bucket=f"mh-{uuid.uuid4().hex}")
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "created"

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        outcomes = sorted(pool.map(create, clients))
    assert outcomes == ["TooManyBuckets"] * (len(clients) - 2) + ["created"] * 2
    listed = second.client(tenant.key_id, tenant.secret).list_buckets()["Buckets"]
    assert len(listed) == BUCKET_LIMIT


def test_ready_reports_the_state_store_and_the_backend(
    tmp_path: Path,
    topology: Topology,
    postgres_server: PostgresServer,
) -> None:
    """``/ready`` (what the balancer probes) is 503 while this host's database login
    fails, and 200 again once it works; ``/health`` (liveness) stays 200 throughout."""
    role, schema = f"r_{uuid.uuid4().hex[:12]}", f"s_{uuid.uuid4().hex[:12]}"

    async def admin(*statements: str) -> None:
        conn = await asyncpg.connect(postgres_server.url())
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE ROLE {role} LOGIN", f"CREATE SCHEMA {schema} AUTHORIZATION {role}"))
    url = f"postgresql://{role}@127.0.0.1:{postgres_server.port}/nfyio?search_path={schema}"
    host = start_gateway(tmp_path / "data", extra_env={**topology.env, "NFYIO_IDENTITY_URL": url})
    try:
        status, body = get_json(f"{host.api_url}/ready")
        assert (status, body["checks"]) == (200, {"state": "ok", "backend": "ok"})

        asyncio.run(
            admin(
                f"ALTER ROLE {role} NOLOGIN",
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
            )
        )
        status, body = get_json(f"{host.api_url}/ready")
        assert status == 503, body
        assert body["checks"] == {"state": "unavailable", "backend": "ok"}
        assert get_json(f"{host.api_url}/health")[0] == 200

        asyncio.run(admin(f"ALTER ROLE {role} LOGIN"))
        status, body = get_json(f"{host.api_url}/ready")
        assert (status, body["status"]) == (200, "ready")
    finally:
        host.stop()
        asyncio.run(admin(f"DROP SCHEMA {schema} CASCADE", f"DROP ROLE {role}"))


def test_a_policy_naming_an_account_deleted_on_the_other_host_is_refused(
    hosts: tuple[Gateway, Gateway],
) -> None:
    """PutBucketPolicy refuses principals that name no account (``MalformedPolicy``, as
    S3 answers "Invalid principal in policy"). Host B checked them against an
    in-process copy of every account it had seen, which nothing on B ever dropped when
    host A deleted one: B went on accepting the deleted account, A refused it."""
    host_a, host_b = hosts
    doomed = new_tenant(host_a, "doomed")
    s3_a, s3_b = host_a.client(), host_b.client()
    bucket = new_bucket(host_b)
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{doomed.id}:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
    s3_b.put_bucket_policy(Bucket=bucket, Policy=document)  # B has seen the account

    status, _, body = call(host_a, "DELETE", f"/v1/accounts/{doomed.id}", headers=ADMIN)
    assert status == 204, body
    for s3 in (s3_a, s3_b):
        with pytest.raises(ClientError) as refused:
            s3.put_bucket_policy(Bucket=bucket, Policy=document)
        assert error_code(refused) == "MalformedPolicy"
