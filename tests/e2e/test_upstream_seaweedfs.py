"""The gateway in front of SeaweedFS: the gateway's own checks hold whatever the store does.

SeaweedFS verifies signatures and Content-MD5 but not the payload hash a request was
signed with (``x-amz-content-sha256``): it stores a body that differs from the one signed.
Through the gateway such a body is refused before anything is committed upstream, both
for a spooled (small) body and for a streamed (large) one.
"""

from __future__ import annotations

import http.client
import uuid
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.gateway_process import Gateway, get_json
from tests.e2e.s3util import RawResponse, expect_error
from tests.services.seaweedfs import SeaweedFS

MiB = 1024 * 1024


def put_signed_for_other_bytes(
    endpoint: str, access_key: str, secret_key: str, path: str, signed: bytes, sent: bytes
) -> RawResponse:
    """PUT ``sent`` with a SigV4 signature (payload hash included, as botocore signs over
    plain HTTP) computed for ``signed``: the signature is valid, the body is not."""
    assert len(signed) == len(sent)
    request = AWSRequest(method="PUT", url=f"{endpoint}{path}", data=signed)
    S3SigV4Auth(Credentials(access_key, secret_key), "s3", "us-east-1").add_auth(request)
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(sent)))
        conn.endheaders()
        for start in range(0, len(sent), MiB):
            conn.send(sent[start : start + MiB])
        response = conn.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def test_seaweedfs_itself_stores_a_body_that_differs_from_the_signed_one(
    seaweedfs: SeaweedFS,
) -> None:
    # The deviation the gateway must make up for (docs/upstream-backend.md).
    direct = seaweedfs.client()
    bucket = f"sw-{uuid.uuid4().hex[:12]}"
    direct.create_bucket(Bucket=bucket)
    answer = put_signed_for_other_bytes(
        seaweedfs.endpoint_url,
        seaweedfs.access_key,
        seaweedfs.secret_key,
        f"/{bucket}/k",
        b"original",
        b"tampered",
    )
    assert answer.status == 200
    assert direct.get_object(Bucket=bucket, Key="k")["Body"].read() == b"tampered"


@pytest.mark.parametrize("size", [100, 9 * MiB], ids=["spooled", "streamed"])
def test_gateway_refuses_a_tampered_body_over_seaweedfs(
    seaweedfs_gateway: Gateway, seaweedfs: SeaweedFS, size: int
) -> None:
    s3 = seaweedfs_gateway.client()
    bucket = f"sw-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"previous")
    signed = bytes(i % 251 for i in range(size))
    sent = signed[:-1] + b"\x00"  # only the very last byte differs
    answer = put_signed_for_other_bytes(
        seaweedfs_gateway.s3_url,
        seaweedfs_gateway.access_key,
        seaweedfs_gateway.secret_key,
        f"/{bucket}/k",
        signed,
        sent,
    )
    assert answer.status == 400, answer.body
    assert answer.error_code() == "XAmzContentSHA256Mismatch"
    answer = put_signed_for_other_bytes(
        seaweedfs_gateway.s3_url,
        seaweedfs_gateway.access_key,
        seaweedfs_gateway.secret_key,
        f"/{bucket}/new",
        signed,
        sent,
    )
    assert answer.error_code() == "XAmzContentSHA256Mismatch"
    # Nothing reached the store: the old object is intact, the new one does not exist.
    direct: Any = seaweedfs.client()
    assert direct.get_object(Bucket=bucket, Key="k")["Body"].read() == b"previous"
    expect_error("404", 404, direct.head_object, Bucket=bucket, Key="new")
    assert [o["Key"] for o in direct.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_health_reports_seaweedfs_as_the_upstream(seaweedfs_gateway: Gateway) -> None:
    status, body = get_json(f"{seaweedfs_gateway.api_url}/health")
    assert (status, body["backend"], body["upstream"]) == (200, "s3", "ok")
    assert get_json(f"{seaweedfs_gateway.api_url}/ready")[0] == 200
