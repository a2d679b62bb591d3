"""Wire-level behaviour: Expect: 100-continue after authentication, and virtual-hosted
addressing with a configured base domain."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import keys_of, raw_request, read_head, sign, ssl_context


def _connect(gw: Gateway) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gw.s3_port), timeout=10)
    context = ssl_context(gw)
    if context is not None:
        return context.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


def _send_head(sock: socket.socket, method: str, path: str, headers: dict[str, str]) -> None:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def test_expect_continue_refused_before_body(any_gateway: Gateway, bucket: str) -> None:
    body = b"b" * 4096
    path = f"/{bucket}/expect-bad"
    headers = sign(any_gateway, "PUT", path, body=body, secret="wrong-secret-wrong-secret")
    headers.update(
        {
            "Host": f"127.0.0.1:{any_gateway.s3_port}",
            "Content-Length": str(len(body)),
            "Expect": "100-continue",
        }
    )
    with _connect(any_gateway) as sock:
        _send_head(sock, "PUT", path, headers)
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 403"), head
        assert b"100 Continue" not in head
    assert keys_of(any_gateway.client(), bucket) == []


def test_expect_continue_then_body(any_gateway: Gateway, bucket: str) -> None:
    body = b"g" * 4096
    path = f"/{bucket}/expect-good"
    headers = sign(any_gateway, "PUT", path, body=body)
    headers.update(
        {
            "Host": f"127.0.0.1:{any_gateway.s3_port}",
            "Content-Length": str(len(body)),
            "Expect": "100-continue",
        }
    )
    with _connect(any_gateway) as sock:
        _send_head(sock, "PUT", path, headers)
        interim = read_head(sock)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(body)
        final = read_head(sock)
        assert final.startswith(b"HTTP/1.1 200"), final
    got = any_gateway.client().get_object(Bucket=bucket, Key="expect-good")
    assert got["Body"].read() == body


def test_expect_continue_anonymous_refused(any_gateway: Gateway, bucket: str) -> None:
    with _connect(any_gateway) as sock:
        _send_head(
            sock,
            "PUT",
            f"/{bucket}/anon",
            {"Host": "127.0.0.1", "Content-Length": "1000000", "Expect": "100-continue"},
        )
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 403"), head


DOMAIN = "s3.localtest"


@pytest.fixture(scope="module")
def vhost_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "gw-vhost", extra_env={"NFYIO_S3_DOMAIN": DOMAIN})


def _vhost_client(gw: Gateway, seen: list[str]) -> Any:
    """boto3 in virtual-hosted style against ``http://s3.localtest:port``: it builds
    ``http://bucket.s3.localtest:port/key``; the URL is pointed at 127.0.0.1 before signing
    while the Host header keeps the name a resolver would have used."""
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{DOMAIN}:{gw.s3_port}",
        aws_access_key_id=gw.access_key,
        aws_secret_access_key=gw.secret_key,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}),
    )

    def to_loopback(request: AWSRequest, **_: Any) -> None:
        parts = urlsplit(request.url)
        seen.append(f"{parts.netloc} {parts.path}")
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{gw.s3_port}"))

    client.meta.events.register_first("before-sign.s3", to_loopback)
    return client


def test_virtual_hosted_boto3(vhost_gateway: Gateway) -> None:
    seen: list[str] = []
    s3 = _vhost_client(vhost_gateway, seen)
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"virtual")
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/a b+c.txt"]
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    # Path-style keeps working on the same listener.
    path_style = vhost_gateway.client()
    assert path_style.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"virtual"
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "copy"}, {"Key": "dir/a b+c.txt"}]}
    )
    s3.delete_bucket(Bucket=bucket)
    host = f"{bucket}.{DOMAIN}:{vhost_gateway.s3_port}"
    assert f"{host} /dir/a%20b%2Bc.txt" in seen
    assert f"{host} /" in seen
    assert all(entry.startswith((host, f"{DOMAIN}:")) for entry in seen)
    assert bucket not in [b["Name"] for b in path_style.list_buckets()["Buckets"]]


def test_virtual_hosted_raw(vhost_gateway: Gateway) -> None:
    bucket = f"vh-{uuid.uuid4().hex[:12]}"
    vhost_gateway.client().create_bucket(Bucket=bucket)
    host = f"{bucket}.{DOMAIN}:{vhost_gateway.s3_port}"
    body = b"raw virtual"
    headers = sign(vhost_gateway, "PUT", "/k%20ey", body=body, host=host)
    assert raw_request(vhost_gateway, "PUT", "/k%20ey", body=body, headers=headers).status == 200
    headers = sign(vhost_gateway, "GET", "/k%20ey", host=host)
    got = raw_request(vhost_gateway, "GET", "/k%20ey", headers=headers)
    assert got.status == 200
    assert got.body == body
    headers = sign(vhost_gateway, "GET", "/?list-type=2", host=host)
    listed = raw_request(vhost_gateway, "GET", "/?list-type=2", headers=headers)
    assert listed.status == 200
    assert b"<Key>k ey</Key>" in listed.body
    # A host outside the domain is path-style: "/k%20ey" is then a bucket name.
    headers = sign(
        vhost_gateway, "GET", "/?list-type=2", host=f"other.example:{vhost_gateway.s3_port}"
    )
    service = raw_request(vhost_gateway, "GET", "/?list-type=2", headers=headers)
    assert service.status == 200
    assert b"ListAllMyBucketsResult" in service.body
