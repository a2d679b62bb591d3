"""The gateway in front of an upstream S3 store (moto): health, readiness, outages."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import upstream_direct, upstream_env
from tests.e2e.gateway_process import Gateway, free_port, get_json, start_gateway


def test_health_reports_the_s3_backend(upstream_gateway: Gateway) -> None:
    status, body = get_json(f"{upstream_gateway.api_url}/health")
    assert status == 200
    assert body["backend"] == "s3"
    assert body["upstream"] == "ok"
    assert get_json(f"{upstream_gateway.api_url}/ready")[0] == 200


def test_objects_round_trip_through_the_upstream(
    upstream_gateway: Gateway, moto_upstream: str
) -> None:

    s3 = upstream_gateway.client()
    bucket = f"up-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"upstream bytes", Metadata={"k": "v"})
    got = s3.get_object(Bucket=bucket, Key="dir/a b.txt")
    assert got["Body"].read() == b"upstream bytes"
    assert got["Metadata"] == {"k": "v"}
    # the bytes really live upstream, written with the gateway's own credentials
    direct = upstream_direct(moto_upstream)
    assert direct.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"upstream bytes"
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/"]
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="nope")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket=bucket)
    assert not_empty.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_upstream_outage_is_503_and_not_ready(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    gw = start_gateway(tmp_path / "data", extra_env=upstream_env(closed))
    try:
        status, body = get_json(f"{gw.api_url}/ready")
        assert status == 503
        status, body = get_json(f"{gw.api_url}/health")
        assert body["upstream"] == "unavailable"
        s3 = gw.client()
        with pytest.raises(ClientError) as outage:
            s3.list_buckets()
        error = outage.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["Error"]["Code"] in {"ServiceUnavailable", "SlowDown"}
        assert "Traceback" not in gw.log()
    finally:
        gw.stop()
