"""Every answer keeps a keep-alive client's connection where HTTP lets it keep it (issue 17).

An answer is framed (``Content-Length``, or a status or method that has no body: 1xx,
204, 304, a HEAD's answer), and the gateway itself ends a connection only where it must:
a refused ``Expect: 100-continue`` (the body may or may not follow) and a POST Object
form refused before all of it arrived. Each sweep goes through ONE connection of a real
client and names the answers after which the client connected again: aiohttp's (llhttp,
which aiobotocore and s3fs use; it is never told that a HEAD's answer has no body, so a
HEAD's answer without a length reads as ending with the connection) and boto3's
(urllib3 over http.client). docs/architecture.md, "every answer framed".
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSHTTPConnection
from botocore.exceptions import ClientError

from tests.connections import one_connection
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import form_body
from tests.e2e.rest_util import make_key


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


async def _dropped(
    gw: Gateway, base: str, cases: list[Case], *, expect100: bool = False
) -> list[str]:
    """The cases through one aiohttp connection, each checked for its status: those after
    whose answer the client had to connect again (the last one's is found by a probe)."""
    probe = Case("GET", "/", 0)
    dropped: list[str] = []
    tls = ssl.create_default_context(cafile=gw.tls_ca) if gw.tls_ca else True
    async with one_connection(tls) as client:
        previous: Case | None = None
        for case in [*cases, probe]:
            before = client.made
            async with client.session.request(
                case.method,
                base + case.path,
                headers=case.headers,
                data=case.body,
                allow_redirects=False,
                expect100=expect100 and case is not probe,
            ) as response:
                text = await response.read()
                if case is not probe:
                    assert response.status == case.status, (str(case), text)
            if previous is not None and client.made > before:
                dropped.append(str(previous))
            previous = case
    assert client.made >= 1
    return dropped


@pytest.fixture(name="reuse_bucket")
def reuse_bucket_fixture(gateway: Gateway) -> str:
    return _reuse_bucket(gateway)


def _reuse_bucket(gw: Gateway) -> str:
    """A bucket with an 11-byte object ``k``, an empty object ``empty``, a 200 kB object
    ``big`` and a CORS rule for ``https://app.example`` (GET, PUT)."""
    s3 = gw.client()
    name = f"reuse-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"hello world")
    s3.put_object(Bucket=name, Key="empty", Body=b"")
    s3.put_object(Bucket=name, Key="big", Body=b"b" * 200_000)  # streamed (sendfile on HTTP)
    rule = {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"]}
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
    return name


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _s3_cases(gw: Gateway, b: str) -> list[Case]:
    root = {"Authorization": f"Bearer {gw.secret_key}"}
    anon: dict[str, str] = {}
    k = f"/{b}/k"
    # SigV2 query auth: Expires is an absolute time, ten minutes ago here
    expired = gw.client().generate_presigned_url(
        "get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=-600
    )
    expired = expired.removeprefix(gw.s3_url)
    form, form_type = form_body([("key", "x")], b"data")  # no policy, no signature
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    return [
        Case("GET", k, 200, root),
        Case("HEAD", k, 200, root),
        Case("GET", f"/{b}/empty", 200, root),
        Case("HEAD", f"/{b}/empty", 200, root),
        Case("HEAD", f"/{b}", 200, root),  # HeadBucket: no document of its own
        Case("GET", f"/{b}/big", 200, root),
        Case("GET", f"/{b}/big", 206, {**root, "Range": "bytes=1000-150000"}),
        Case("HEAD", f"/{b}/big", 200, root),
        Case("GET", f"/{b}?list-type=2", 200, root),
        Case("GET", k, 206, {**root, "Range": "bytes=0-3"}),
        Case("HEAD", k, 206, {**root, "Range": "bytes=0-3"}),
        Case("GET", k, 304, {**root, "If-None-Match": "*"}),
        Case("HEAD", k, 304, {**root, "If-None-Match": "*"}),
        Case("GET", k, 412, {**root, "If-Match": '"other"'}),
        Case("HEAD", k, 412, {**root, "If-Match": '"other"'}),
        Case("GET", k, 416, {**root, "Range": "bytes=100-"}),
        Case("HEAD", k, 416, {**root, "Range": "bytes=100-"}),
        Case("GET", f"/{b}/missing", 404, root),
        Case("HEAD", f"/{b}/missing", 404, root),
        Case("HEAD", f"/no-{b}", 404, root),
        Case("DELETE", f"/no-{b}/missing", 404, root),
        Case("PUT", f"/no-{b}/missing", 404, root, b"x" * 1000),
        Case("GET", k, 403, anon),
        Case("HEAD", k, 403, anon),
        Case("HEAD", f"/{b}", 403, anon),
        Case("DELETE", k, 403, anon),
        Case("PUT", f"/{b}/k2", 403, anon, b"x" * 1000),  # refused before its body is read
        Case("PUT", f"/{b}/k2", 403, anon, b"x" * 300_000),
        Case("PUT", f"/{b}/k2", 403, anon),
        Case("GET", expired, 403, anon),
        Case("PUT", f"/{b}/k2", 200, root, b"data"),
        Case("PUT", f"/{b}/k3", 200, root),
        # BadDigest once the body was read; InvalidDigest before it is
        Case("PUT", f"/{b}/k2", 400, {**root, "Content-MD5": _md5(b"other")}, b"x" * 1000),
        Case("PUT", f"/{b}/k2", 400, {**root, "Content-MD5": "not base64!"}, b"x" * 300_000),
        Case("GET", f"{k}?partNumber=abc", 400, root),
        Case("HEAD", f"{k}?partNumber=abc", 400, root),
        Case("GET", "/Not_A_Bucket", 400, root),
        Case("PATCH", k, 405, root, b"abc"),
        Case("HEAD", f"/{b}?acl", 405, root),
        Case("PUT", f"/{b}?metadataTable", 501, root, b"<x/>"),
        Case("OPTIONS", k, 200, preflight),
        Case("OPTIONS", k, 403, {**preflight, "Origin": "https://other.example"}),
        Case("OPTIONS", k, 400, anon),
        Case("POST", f"/{b}", 403, {"Content-Type": form_type}, form),  # arrived whole
        Case("DELETE", f"/{b}/k3", 204, root),
        Case("DELETE", f"/{b}/k3", 204, root),
    ]


@pytest.mark.parametrize("name", ["gateway", "tls_gateway", "upstream_gateway"])
async def test_no_s3_answer_drops_an_aiohttp_clients_connection(
    request: pytest.FixtureRequest, name: str
) -> None:
    """Filesystem over HTTP and HTTPS, and the s3 backend in front of moto."""
    gw: Gateway = request.getfixturevalue(name)
    bucket = _reuse_bucket(gw)
    assert await _dropped(gw, gw.s3_url, _s3_cases(gw, bucket)) == []


def _api_cases(gw: Gateway, b: str) -> list[Case]:
    root = {"Authorization": f"Bearer {gw.secret_key}"}
    content = f"/v1/buckets/{b}/objects/content?key="
    json_type = {**root, "Content-Type": "application/json"}
    reader = {"Authorization": f"Bearer {make_key(gw, scopes=['read:objects'])['secret']}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    basic = {**form, "Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode()}
    return [
        Case("GET", "/health", 200),
        Case("HEAD", "/health", 200),
        Case("GET", "/v1/buckets", 200, root),
        Case("GET", "/v1/buckets", 401),
        Case("HEAD", "/v1/buckets", 401),
        Case("GET", "/v1/me", 200, root),
        Case("HEAD", "/v1/me", 200, root),
        Case("GET", "/v1/users", 401, {"Authorization": "Bearer not-a-secret"}),
        Case("GET", "/v1/users", 403, reader),
        Case("GET", "/v1/nothing", 404),
        Case("HEAD", "/v1/nothing", 404),
        Case("DELETE", "/v1/buckets", 405, root),
        Case("POST", "/v1/buckets", 415, root, b"{not json"),
        Case("POST", "/v1/buckets", 401, {"Content-Type": "application/json"}, b'{"name": "x"}'),
        Case("POST", "/oauth/token", 400, form, b"grant_type=nothing"),
        Case("POST", "/oauth/token", 401, form, b"grant_type=client_credentials&client_id=n"),
        Case("POST", "/oauth/token", 401, basic, b"grant_type=client_credentials"),
        Case("GET", "/oauth/token", 405),
        Case("HEAD", "/.well-known/jwks.json", 200),
        Case("GET", "/v1/openapi.json", 200),
        Case("HEAD", "/v1/openapi.json", 200),
        Case("HEAD", "/v1/access-keys", 200, root),
        Case("HEAD", "/v1/users", 200, root),
        Case("HEAD", "/v1/audit-events", 200, root),
        Case("GET", f"/v1/buckets/{b}/objects", 200, root),
        Case("HEAD", f"/v1/buckets/{b}/objects", 200, root),
        Case("HEAD", f"/v1/buckets/no-{b}/objects", 404, root),
        Case("PUT", content + "r", 201, root, b"rest body"),
        Case("PUT", content + "r", 412, {**root, "If-None-Match": "*"}, b"rest body"),
        Case("PUT", content + "r", 403, reader, b"x" * 300_000),
        Case("GET", content + "r", 200, root),
        Case("HEAD", content + "r", 200, root),
        Case("GET", content + "r", 304, {**root, "If-None-Match": "*"}),
        Case("HEAD", content + "r", 304, {**root, "If-None-Match": "*"}),
        Case("GET", content + "r", 412, {**root, "If-Match": '"other"'}),
        Case("HEAD", content + "r", 412, {**root, "If-Match": '"other"'}),
        Case("GET", content + "missing", 404, root),
        Case("HEAD", content + "missing", 404, root),
        Case("POST", f"/v1/buckets/{b}/objects/presign", 200, json_type, b'{"key": "r"}'),
        Case("POST", f"/v1/buckets/{b}/objects/presign", 400, json_type, b'{"key": 1}'),
        Case("DELETE", content + "r", 204, root),
    ]


async def test_no_api_answer_drops_an_aiohttp_clients_connection(
    gateway: Gateway, reuse_bucket: str
) -> None:
    assert await _dropped(gateway, gateway.api_url, _api_cases(gateway, reuse_bucket)) == []


async def test_head_of_the_bucket_list_is_the_one_api_answer_without_a_length(
    gateway: Gateway,
) -> None:
    """Deliberate (docs/api.md, HEAD): ``HEAD /v1/buckets`` stops before the per-bucket
    work that only makes the body, so it cannot declare the body's length, and an
    aiohttp client connects again after it. Pinned so that changing either is seen."""
    root = {"Authorization": f"Bearer {gateway.secret_key}"}
    cases = [Case("HEAD", "/v1/buckets", 200, root)]
    assert await _dropped(gateway, gateway.api_url, cases) == ["HEAD /v1/buckets 200"]


async def test_a_refused_expect_100_continue_ends_the_connection(
    gateway: Gateway, reuse_bucket: str
) -> None:
    """The client holds its body back for a ``100 Continue`` it never gets: whether the
    body follows is the client's choice, so the connection ends after the answer
    (``Connection: close``); an accepted one keeps it."""
    root = {"Authorization": f"Bearer {gateway.secret_key}"}
    cases = [
        Case("PUT", f"/{reuse_bucket}/e", 200, root, b"y" * 1000),
        Case("PUT", f"/{reuse_bucket}/e", 403, {}, b"y" * 1000),
    ]
    dropped = await _dropped(gateway, gateway.s3_url, cases, expect100=True)
    assert dropped == [f"PUT /{reuse_bucket}/e 403"]


def test_a_post_form_refused_before_it_all_arrived_ends_the_connection(
    gateway: Gateway, reuse_bucket: str
) -> None:
    """The rest of a refused form (up to 5 GiB) is never read: the answer says
    ``Connection: close`` and the connection ends. (One that arrived whole keeps it:
    the S3 sweep.)"""
    form, form_type = form_body([("key", "x")], b"data")
    head = (
        f"POST /{reuse_bucket} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.s3_port}\r\n"
        f"Content-Type: {form_type}\r\nContent-Length: {len(form) + 1_000_000}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gateway.s3_port), timeout=30) as sock:
        sock.sendall(head.encode() + form)
        answer = b""
        while chunk := sock.recv(65536):  # ends: the gateway closes
            answer += chunk
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 403 "), answer
    assert b"\r\nConnection: close\r\n" in rest


class _Counted(AWSHTTPConnection):  # type: ignore[misc]  # botocore is untyped
    """botocore's connection, counting the connections it opens."""

    opened = 0

    def connect(self) -> None:
        type(self).opened += 1
        super().connect()


def _counted_client(gw: Gateway, **config: Any) -> tuple[Any, type[_Counted]]:
    """A boto3 client with one pooled connection, and the class counting its connects."""
    client = gw.client(max_pool_connections=1, **config)
    counter = type("Counter", (_Counted,), {"opened": 0})
    # botocore's session has no public hook for its connection class
    client._endpoint.http_session._manager.connection_from_url(gw.s3_url).ConnectionCls = counter
    return client, counter


def _call(action: Any) -> int:
    try:
        answer = action()
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    if "Body" in answer:
        answer["Body"].read()
    return int(answer["ResponseMetadata"]["HTTPStatusCode"])


def test_no_s3_answer_drops_a_boto3_connection(gateway: Gateway, reuse_bucket: str) -> None:
    s3, counter = _counted_client(gateway)
    b = reuse_bucket
    calls: list[tuple[int, Any]] = [
        (200, lambda: s3.get_object(Bucket=b, Key="k")),
        (200, lambda: s3.head_object(Bucket=b, Key="k")),
        (200, lambda: s3.head_bucket(Bucket=b)),
        (206, lambda: s3.get_object(Bucket=b, Key="k", Range="bytes=0-3")),
        (304, lambda: s3.get_object(Bucket=b, Key="k", IfNoneMatch="*")),
        (304, lambda: s3.head_object(Bucket=b, Key="k", IfNoneMatch="*")),
        (412, lambda: s3.get_object(Bucket=b, Key="k", IfMatch='"other"')),
        (412, lambda: s3.head_object(Bucket=b, Key="k", IfMatch='"other"')),
        (416, lambda: s3.get_object(Bucket=b, Key="k", Range="bytes=100-")),
        (404, lambda: s3.get_object(Bucket=b, Key="missing")),
        (404, lambda: s3.head_object(Bucket=b, Key="missing")),
        (404, lambda: s3.head_bucket(Bucket=f"no-{b}")),
        (404, lambda: s3.delete_object(Bucket=f"no-{b}", Key="x")),
        (404, lambda: s3.put_object(Bucket=f"no-{b}", Key="x", Body=b"x" * 1000)),
        (400, lambda: s3.put_object(Bucket=b, Key="k2", Body=b"x", ContentMD5=_md5(b"y"))),
        (400, lambda: s3.get_object(Bucket=b, Key="k", PartNumber=0)),
        (200, lambda: s3.put_object(Bucket=b, Key="k2", Body=b"x" * 1000)),
        (204, lambda: s3.delete_object(Bucket=b, Key="k2")),
        (501, lambda: s3.get_object_torrent(Bucket=b, Key="k")),
        (200, lambda: s3.list_objects_v2(Bucket=b)),
    ]
    assert [_call(action) for _, action in calls] == [status for status, _ in calls]
    assert counter.opened == 1


def test_refused_anonymous_calls_keep_a_boto3_connection_but_a_held_body(
    gateway: Gateway, reuse_bucket: str
) -> None:
    """Refused before authentication: reads keep the connection; boto3's PutObject
    holds its body for ``100 Continue`` (a file-like body), so its refusal ends it."""
    anon, counter = _counted_client(gateway, signature_version=UNSIGNED)
    b = reuse_bucket
    reads = [
        lambda: anon.get_object(Bucket=b, Key="k"),
        lambda: anon.head_object(Bucket=b, Key="k"),
        lambda: anon.head_bucket(Bucket=b),
        lambda: anon.delete_object(Bucket=b, Key="k"),
        lambda: anon.list_objects_v2(Bucket=b),
    ]
    assert [_call(action) for action in reads] == [403] * len(reads)
    assert counter.opened == 1
    assert _call(lambda: anon.put_object(Bucket=b, Key="k2", Body=b"x" * 1000)) == 403
    assert _call(reads[0]) == 403
    assert counter.opened == 2
