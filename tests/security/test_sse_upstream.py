"""Server-side encryption through the gateway's s3 backend (moto as the upstream): what
the store applies is echoed, what it ignores is refused rather than stored in clear."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tests.backends.upstream_server import start_moto
from tests.e2e.conftest import upstream_env
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error
from tests.security.data_util import sse_c_key


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server = start_moto()
    yield server.endpoint_url
    server.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, moto: str) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "sse-upstream", extra_env=upstream_env(moto))


def test_sse_s3_and_the_bucket_default_pass_through(gw: Gateway) -> None:
    s3 = gw.client()
    bucket = f"up-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 100, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    assert s3.put_object(Bucket=bucket, Key="d", Body=b"d")["ServerSideEncryption"] == "AES256"
    s3.delete_bucket_encryption(Bucket=bucket)
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )


def test_sse_c_the_upstream_ignores_is_refused_and_not_kept(gw: Gateway) -> None:
    """moto stores SSE-C objects in clear and serves them without the key: the gateway
    must not answer 200 to such a write (docs/upstream-backend.md)."""
    s3 = gw.client()
    bucket = f"up-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    key, _ = sse_c_key()
    ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    expect_error("NotImplemented", 501, s3.put_object, Bucket=bucket, Key="c", Body=b"s", **ssec)
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="c")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    expect_error("NotImplemented", 501, s3.create_multipart_upload, Bucket=bucket, Key="m", **ssec)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
