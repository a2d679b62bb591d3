"""Class: ``s3:TlsVersion``, AWS's usual "TLS 1.2 or newer" bucket policy.

PutBucketPolicy refused the key, so the policy AWS recommends for a TLS floor
(``Deny`` when ``NumericLessThan`` ``s3:TlsVersion``) could not be set. It is now the
version of the client's own TLS connection (``1.2``, ``1.3``) on every action, and absent
over plain HTTP (where ``aws:SecureTransport`` is the key to deny on) and behind a trusted
proxy, whose connection is not the client's.
"""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.s3util import expect_error, sign
from tests.security.data_util import tls_files


@pytest.fixture(scope="module")
def https_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = Path(tmp_path_factory.mktemp("tls-version"))
    running = start_gateway(base / "data", tls=tls_files(base / "tls"))
    yield running
    running.stop()


def _get(gw: Gateway, path: str, *, newest: ssl.TLSVersion | None = None) -> int:
    context = ssl.create_default_context(cafile=gw.tls_ca)
    if newest is not None:
        context.maximum_version = newest
    conn = http.client.HTTPSConnection("127.0.0.1", gw.s3_port, context=context, timeout=30)
    try:
        conn.request("GET", path, headers=sign(gw, "GET", path))
        return conn.getresponse().status
    finally:
        conn.close()


def _bucket_with(s3: Any, condition: dict[str, Any]) -> str:
    bucket = f"tls-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": condition,
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return bucket


def test_a_tls_floor_refuses_older_connections(https_gateway: Gateway) -> None:
    bucket = _bucket_with(https_gateway.client(), {"NumericLessThan": {"s3:TlsVersion": "1.3"}})
    assert _get(https_gateway, f"/{bucket}/k", newest=ssl.TLSVersion.TLSv1_2) == 403
    assert _get(https_gateway, f"/{bucket}/k") == 200  # TLS 1.3


def test_plain_http_has_no_tls_version(https_gateway: Gateway, gateway: Gateway) -> None:
    absent = {"Null": {"s3:TlsVersion": "true"}}
    plain = gateway.client()
    bucket = _bucket_with(plain, absent)
    expect_error("AccessDenied", 403, plain.get_object, Bucket=bucket, Key="k")
    bucket = _bucket_with(https_gateway.client(), absent)
    assert _get(https_gateway, f"/{bucket}/k") == 200
