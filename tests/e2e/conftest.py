"""Fixtures: the real gateway process over HTTP and HTTPS, and boto3 clients for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.backends.upstream_server import MOTO_CONDITIONAL_WRITES
from tests.e2e.console_browser import browser, console_gateway, screenshot_dir, tab
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.services.seaweedfs import SeaweedFS

# The browser tests' fixtures (tests/e2e/console_browser.py), for every module here.
__all__ = ["browser", "console_gateway", "screenshot_dir", "tab"]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = (
        directory / "cert.pem",
        directory / "key.pem",
        directory / "ca.pem",
    )
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return str(cert_path), str(key_path), str(ca_path)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway over plain HTTP for the session (tests use unique bucket names)."""
    yield from own_gateway(tmp_path_factory, "gw-http")


@pytest.fixture(scope="session")
def tls_gateway(
    tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[str, str, str]
) -> Iterator[Gateway]:
    """One gateway over HTTPS (where SDKs send aws-chunked bodies with trailers)."""
    running = start_gateway(Path(tmp_path_factory.mktemp("gw-https")) / "data", tls=tls_files)
    yield running
    running.stop()


GATEWAY_FIXTURES = {
    "http": "gateway",
    "https": "tls_gateway",
    "upstream": "upstream_gateway",
    "seaweedfs": "seaweedfs_gateway",
}


@pytest.fixture(params=list(GATEWAY_FIXTURES))
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    """Runs a test over HTTP (checksum headers), over HTTPS (aws-chunked trailers), and
    twice more over HTTP with the s3 backend: in front of moto and in front of SeaweedFS
    (the same suite for every backend).
    """
    gw: Gateway = request.getfixturevalue(GATEWAY_FIXTURES[request.param])
    return gw


CLIENT_GATEWAYS = ["http", "https", "seaweedfs"]


@pytest.fixture(params=CLIENT_GATEWAYS)
def client_gateway(request: pytest.FixtureRequest) -> Gateway:
    """For the third-party clients (tests/e2e/test_client_*.py): the filesystem backend over
    HTTP and over HTTPS (where SDKs switch to aws-chunked bodies and trailers), and the s3
    backend in front of SeaweedFS, a real store (moto's deviations are for boto3's suite).
    """
    gw: Gateway = request.getfixturevalue(GATEWAY_FIXTURES[request.param])
    return gw


@pytest.fixture
def s3(any_gateway: Gateway) -> Any:
    return any_gateway.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"e2e-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def moto_upstream() -> Iterator[str]:
    """moto's S3 server standing in for an upstream store (emulator: never an auth oracle)."""
    from tests.backends.upstream_server import start_moto

    server = start_moto()
    yield server.endpoint_url
    server.stop()


def upstream_env(
    endpoint: str,
    access_key: str = "upstream-access-key",
    secret_key: str = "upstream-secret-key",
) -> dict[str, str]:
    return {
        "NFYIO_BACKEND": "s3",
        "NFYIO_UPSTREAM_ENDPOINT": endpoint,
        "NFYIO_UPSTREAM_ACCESS_KEY_ID": access_key,
        "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": secret_key,
        "NFYIO_UPSTREAM_REGION": "us-east-1",
    }


def upstream_direct(endpoint: str, **config: Any) -> Any:
    """A boto3 client of the upstream store itself, with the gateway's own key (what
    ``upstream_env`` configures): to see or change what the gateway stored there.
    ``config``: botocore ``Config`` options."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="upstream-access-key",
        aws_secret_access_key="upstream-secret-key",
        region_name="us-east-1",
        config=Config(**config),
    )


@pytest.fixture(scope="session")
def upstream_gateway(
    tmp_path_factory: pytest.TempPathFactory, moto_upstream: str
) -> Iterator[Gateway]:
    """The gateway with the s3 backend in front of moto (plain HTTP)."""
    env = upstream_env(moto_upstream)
    env["NFYIO_UPSTREAM_CONDITIONAL_WRITES"] = ",".join(MOTO_CONDITIONAL_WRITES)
    yield from own_gateway(tmp_path_factory, "gw-upstream", extra_env=env)


@pytest.fixture(scope="session")
def seaweedfs_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    seaweedfs: SeaweedFS,
) -> Iterator[Gateway]:
    """The gateway with the s3 backend in front of SeaweedFS (plain HTTP)."""
    env = upstream_env(seaweedfs.endpoint_url, seaweedfs.access_key, seaweedfs.secret_key)
    # SeaweedFS decides every conditional write and keeps checksums itself: native mode
    env["NFYIO_UPSTREAM_NATIVE_CHECKSUMS"] = "true"
    yield from own_gateway(tmp_path_factory, "gw-seaweedfs", extra_env=env)
