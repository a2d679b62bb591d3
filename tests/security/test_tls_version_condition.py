"""Class: ``s3:TlsVersion``, AWS's usual "TLS 1.2 or newer" bucket policy.

PutBucketPolicy refused the key, so the policy AWS recommends for a TLS floor
(``Deny`` when ``NumericLessThan`` ``s3:TlsVersion``) could not be set. It is now the
version of the client's own TLS connection (``1.2``, ``1.3``) on every action, and absent
over plain HTTP (where ``aws:SecureTransport`` is the key to deny on) and behind a trusted
proxy, whose connection is not the client's.
"""

from __future__ import annotations

import http.client
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, sign
from tests.e2e.tenants import deny_on_objects


@pytest.fixture(scope="module")
def https_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "tls-version", tls=True)


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
    deny_on_objects(s3, bucket, "s3:GetObject", condition)
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
