"""The gateway process with its state in PostgreSQL (``NFYIO_IDENTITY_URL``).

A throwaway PostgreSQL cluster (tests/services/postgres.py), a fresh schema per test, the
real ``nfyio-gateway serve`` process, boto3 and plain REST calls. Two gateway processes
with their own data directories on one database stand for two hosts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, call
from tests.services.pgbouncer import PgBouncer
from tests.services.postgres import PostgresServer

SCOPES = ["read:buckets", "write:buckets", "read:objects", "write:objects"]


@pytest.fixture
def state_env(postgres_server: PostgresServer) -> dict[str, str]:
    """What every host of one deployment shares: the database URL and the master key."""
    return {
        "NFYIO_IDENTITY_URL": asyncio.run(postgres_server.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    }


@pytest.fixture
def hosts(tmp_path: Path, state_env: dict[str, str]) -> Iterator[tuple[Gateway, Gateway]]:
    first = start_gateway(tmp_path / "host-a" / "data", extra_env=state_env)
    try:
        second = start_gateway(tmp_path / "host-b" / "data", extra_env=state_env)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def create_key(gateway: Gateway) -> dict[str, Any]:
    status, _, body = call(
        gateway, "POST", "/v1/access-keys", headers=ADMIN, body={"name": "pg", "scopes": SCOPES}
    )
    assert status == 201, body
    created: dict[str, Any] = json.loads(body)
    return created


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_key_created_used_and_revoked_through_postgres(hosts: tuple[Gateway, Gateway]) -> None:
    host_a, host_b = hosts
    key = create_key(host_a)
    s3_a = host_a.client(key["id"], key["secret"])
    bucket = f"pg-{uuid.uuid4().hex[:12]}"
    s3_a.create_bucket(Bucket=bucket)
    s3_a.put_object(Bucket=bucket, Key="hello.txt", Body=b"state in postgres")
    assert s3_a.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"state in postgres"

    # The other host knows the key at once (its objects live in its own filesystem
    # backend here: only the state is shared).
    s3_b = host_b.client(key["id"], key["secret"])
    assert "Buckets" in s3_b.list_buckets()
    status, _, body = call(host_b, "GET", f"/v1/access-keys/{key['id']}", headers=ADMIN)
    assert status == 200 and json.loads(body)["name"] == "pg"

    # Revoked on B, refused on A at the next request, over SigV4 and Bearer alike.
    status, _, body = call(host_b, "DELETE", f"/v1/access-keys/{key['id']}", headers=ADMIN)
    assert status == 204, body
    with pytest.raises(ClientError) as refused:
        s3_a.get_object(Bucket=bucket, Key="hello.txt")
    assert error_code(refused) == "InvalidAccessKeyId"
    status, _, _ = call(
        host_a, "GET", "/v1/me", headers={"Authorization": f"Bearer {key['secret']}"}
    )
    assert status == 401

    # Nothing of the state went to the data directories.
    for host in hosts:
        assert not (host.data_dir / "identity.db").exists()
        assert not (host.data_dir / "master.key").exists()


def test_postgres_state_without_a_configured_master_key_refuses_to_start(
    tmp_path: Path, state_env: dict[str, str]
) -> None:
    env = {"NFYIO_IDENTITY_URL": state_env["NFYIO_IDENTITY_URL"]}
    with pytest.raises(RuntimeError, match="NFYIO_MASTER_KEY") as failed:
        start_gateway(tmp_path / "data", extra_env=env)
    assert "configuration error" in str(failed.value)
    assert not (tmp_path / "data" / "master.key").exists()


def test_master_key_rotation_of_a_shared_store(
    tmp_path: Path, hosts: tuple[Gateway, Gateway], state_env: dict[str, str]
) -> None:
    """Every host stopped, the command run once from one of them: both come back under the
    new key with the same access keys; one that kept serving creates nothing."""
    host_a, host_b = hosts
    key = create_key(host_a)
    host_a.stop()
    new_file = tmp_path / "new.key"
    new_key = base64.b64encode(os.urandom(32)).decode()
    new_file.write_text(new_key + "\n")
    new_file.chmod(0o600)
    rotated = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "rotate-master-key",
            "--new-key-file",
            str(new_file),
            "--data-dir",
            str(host_a.data_dir),
        ],
        capture_output=True,
        text=True,
        env=host_a.env,
        timeout=120,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["access_key_secrets"] >= 2  # root and the key above
    # Host B kept serving (the operator forgot it): its old key finds no secret any more
    # (lookup hashes are the new key's), so nothing is created through it.
    status, _, body = call(
        host_b, "POST", "/v1/access-keys", headers=ADMIN, body={"name": "late", "scopes": SCOPES}
    )
    assert status == 401 and json.loads(body)["error"]["code"] == "InvalidApiKey", body
    host_b.stop()
    new_env = {**state_env, "NFYIO_MASTER_KEY": new_key}
    for data_dir in (host_a.data_dir, host_b.data_dir):
        restarted = start_gateway(data_dir, extra_env=new_env)
        try:
            s3 = restarted.client(key["id"], key["secret"])
            assert "Buckets" in s3.list_buckets()
            listed = json.loads(call(restarted, "GET", "/v1/access-keys", headers=ADMIN)[2])
            names = [k["name"] for k in listed["access_keys"]]
            assert "pg" in names and "late" not in names
        finally:
            restarted.stop()


def test_two_hosts_behind_pgbouncer(tmp_path: Path, pgbouncer: PgBouncer) -> None:
    """PgBouncer in transaction mode between the hosts and PostgreSQL, with
    ``identity.prepared_statements = false``: keys made on one host sign requests on the
    other under concurrent load, and a revocation applies everywhere."""
    env = {
        "NFYIO_IDENTITY_URL": asyncio.run(pgbouncer.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "NFYIO_IDENTITY_PREPARED_STATEMENTS": "false",
    }
    host_a = start_gateway(tmp_path / "a" / "data", extra_env=env, extra_args=["--workers", "2"])
    try:
        host_b = start_gateway(tmp_path / "b" / "data", extra_env=env)
        try:
            keys = [create_key(host_a) for _ in range(4)]

            def use(key: dict[str, Any]) -> int:
                s3 = host_b.client(key["id"], key["secret"])
                bucket = f"pgb-{uuid.uuid4().hex[:12]}"
                s3.create_bucket(Bucket=bucket)
                for n in range(10):
                    s3.put_object(Bucket=bucket, Key=f"k{n}", Body=b"x")
                return len(s3.list_objects_v2(Bucket=bucket)["Contents"])

            with ThreadPoolExecutor(8) as pool:
                assert list(pool.map(use, keys * 2)) == [10] * 8
            status, _, body = call(
                host_b, "DELETE", f"/v1/access-keys/{keys[0]['id']}", headers=ADMIN
            )
            assert status == 204, body
            with pytest.raises(ClientError) as refused:
                host_a.client(keys[0]["id"], keys[0]["secret"]).list_buckets()
            assert error_code(refused) == "InvalidAccessKeyId"
        finally:
            host_b.stop()
    finally:
        host_a.stop()
    assert "prepared statement" not in host_a.log() + host_b.log()
