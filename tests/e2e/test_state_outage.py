"""The state store (PostgreSQL) goes away and comes back: requests that need it answer
503 in each API's own shape, with ``Retry-After``, never 500; once it is back the same
requests succeed without a restart.

A PostgreSQL cluster of this test's own (it is shut down and started again), the real
``nfyio-gateway serve`` process, boto3 with retries off, plain HTTP for REST and OAuth.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, call, make_key
from tests.services.postgres import PostgresServer, start_postgres


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def gateway(tmp_path: Path, own_postgres: PostgresServer) -> Iterator[Gateway]:
    env = {
        "NFYIO_IDENTITY_URL": asyncio.run(own_postgres.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    gw = start_gateway(tmp_path / "data", extra_env=env)
    yield gw
    gw.stop()


def _token(gw: Gateway) -> tuple[int, dict[str, str], Any]:
    """A client-credentials grant for a client that does not exist."""
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    request = urllib.request.Request(
        gw.api_url + "/oauth/token",
        data=urllib.parse.urlencode(form).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_requests_answer_503_while_postgres_is_down(
    gateway: Gateway, own_postgres: PostgresServer
) -> None:
    key = make_key(
        gateway, scopes=["read:buckets", "write:buckets", "read:objects", "write:objects"]
    )
    s3: Any = gateway.client(key["id"], key["secret"])  # retries off
    bucket = f"out-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")

    own_postgres.pause()
    try:
        # S3: the access key is read from the database on every request (PostgreSQL
        # keeps no per-host key cache by default).
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket=bucket, Key="k")
        error = refused.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["Error"]["Code"] == "ServiceUnavailable"
        assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "5"

        # REST: the JSON envelope, with Retry-After.
        status, headers, body = call(
            gateway, "GET", "/v1/me", headers={"Authorization": f"Bearer {key['secret']}"}
        )
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "ServiceUnavailable"
        assert headers["Retry-After"] == "5"

        # OAuth: RFC 6749's temporarily_unavailable, with Retry-After.
        status, headers, answer = _token(gateway)
        assert (status, answer["error"]) == (503, "temporarily_unavailable")
        assert headers["Retry-After"] == "5"
        assert headers["Cache-Control"] == "no-store"

        # Readiness says why.
        status, _, body = call(gateway, "GET", "/ready")
        assert status == 503 and json.loads(body)["checks"]["state"] == "unavailable"
    finally:
        own_postgres.resume()

    # Back: the same requests succeed, nothing was lost, no restart.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    status, _, body = call(
        gateway, "GET", "/v1/me", headers={"Authorization": f"Bearer {key['secret']}"}
    )
    assert status == 200, body
    status, _, answer = _token(gateway)
    assert (status, answer["error"]) == (401, "invalid_client")
    assert call(gateway, "GET", "/ready", headers=ADMIN)[0] == 200
    assert "internal error" not in gateway.log().lower()  # no request took the 500 path
