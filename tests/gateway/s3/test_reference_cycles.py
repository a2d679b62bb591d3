"""The S3 request path leaves no reference cycle of ours behind (``tests/cycles.py``) on
the requests a workload repeats: SigV4-signed PUT, HEAD, GET and ListObjectsV2 on the
filesystem backend, in-process. With ``gateway/garbage.py``'s raised threshold such
garbage would also wait longer to be freed; before it, every collection the default
threshold set off cost the requests in flight (docs/performance.md, thirty-seventh
sitting).

Error answers too (404 HEAD/GET, 403 of a policy, of an anonymous caller, of a bad
signature or an unknown key, 400, 412, 304, 416, a refused preflight), on the filesystem
backend and an upstream one (moto): an exception's traceback holds the frames it passed
through, and a frame holding the exception (``error = ...; raise error``) kept the whole
request alive in a cycle, ~60 objects of a 404 HEAD (``gateway/tracebacks.py``)."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_s3_app
from gateway.bootstrap import ensure_admin
from gateway.state import IDENTITY
from sigv4.outgoing import sign_headers
from tests.backends.upstream_server import UpstreamServer, start_moto
from tests.cycles import cycles_of_ours, describe
from tests.gateway.s3.conftest import ROOT_KEY, ROOT_SECRET, make_bucket, make_config

ROUNDS = 5
DATA = b"x" * 4096


def _signed(
    s3: TestClient[Any, Any],
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    extra: Mapping[str, str] | None = None,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
) -> dict[str, str]:
    host = f"{s3.host}:{s3.port}"
    headers = {"host": host, **(extra or {})}
    headers.update(
        sign_headers(
            method,
            path,
            query,
            headers,
            hashlib.sha256(body).hexdigest(),
            access_key_id=key,
            secret_access_key=secret,
            region="us-east-1",
            now=datetime.now(UTC),
        )
    )
    return headers


async def _call(
    s3: TestClient[Any, Any],
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    *,
    status: int = 200,
) -> bytes:
    target = f"{path}?{query}" if query else path
    response = await s3.request(
        method, target, data=body or None, headers=_signed(s3, method, path, query, body)
    )
    data = await response.read()
    assert response.status == status, data
    return data


async def _round(s3: TestClient[Any, Any], key: str) -> None:
    await _call(s3, "PUT", f"/bucket/{key}", body=DATA)
    await _call(s3, "HEAD", f"/bucket/{key}")
    assert await _call(s3, "GET", f"/bucket/{key}") == DATA
    assert b"<KeyCount>" in await _call(s3, "GET", "/bucket", "list-type=2&prefix=k")


async def test_successful_requests_leave_no_cycles(s3: TestClient[Any, Any]) -> None:
    await make_bucket(s3)
    await _round(s3, "warm")  # imports, memos and caches settle first
    with cycles_of_ours() as found:
        for i in range(ROUNDS):
            await _round(s3, f"k{i}")
    assert not found, f"left to the cyclic collector: {describe(found)}"


@pytest.fixture(scope="module")
def moto() -> Iterator[UpstreamServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(params=["filesystem", "upstream"])
async def any_s3(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_client: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    """The S3 app in-process on either backend (the upstream one in front of moto)."""
    env: dict[str, str] = {}
    if request.param == "upstream":
        server: UpstreamServer = request.getfixturevalue("moto")
        env = {
            "NFYIO_BACKEND": "s3",
            "NFYIO_UPSTREAM_ENDPOINT": server.endpoint_url,
            "NFYIO_UPSTREAM_ACCESS_KEY_ID": "cycles-key",
            "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": "cycles-secret",
            "NFYIO_UPSTREAM_BUCKET_PREFIX": f"c{uuid.uuid4().hex[:12]}-",
        }
    config = make_config(tmp_path, **env)
    await ensure_admin(config)
    client: TestClient[Any, Any] = await aiohttp_client(make_s3_app(Shared(config)))
    yield client


async def _refused(
    s3: TestClient[Any, Any],
    method: str,
    path: str,
    status: int,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
) -> None:
    sent = dict(headers or {})
    if signed:
        sent = _signed(s3, method, path, query, b"", extra=sent, key=key, secret=secret)
    target = f"{path}?{query}" if query else path
    response = await s3.request(method, target, headers=sent)
    data = await response.read()
    assert response.status == status, (method, target, data)


_DENY_READS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::denied/*",
        }
    ],
}


async def _errors(s3: TestClient[Any, Any]) -> None:
    """One request of each kind of error answer."""
    # the backend's 404s (HEAD has no body: the code is the status)
    await _refused(s3, "HEAD", "/bucket/missing", 404)
    await _refused(s3, "GET", "/bucket/missing", 404)
    await _refused(s3, "HEAD", "/nobucket/missing", 404)
    await _refused(s3, "GET", "/nobucket/missing", 404)
    # conditions and ranges the object does not meet
    await _refused(s3, "GET", "/bucket/there", 412, headers={"If-Match": '"other"'})
    await _refused(s3, "HEAD", "/bucket/there", 304, headers={"If-None-Match": "*"})
    await _refused(s3, "GET", "/bucket/there", 416, headers={"Range": "bytes=99999-"})
    # authorization: a bucket policy's Deny, an anonymous caller (unsigned)
    await _refused(s3, "GET", "/denied/there", 403)
    await _refused(s3, "GET", "/bucket/there", 403, signed=False)
    await _refused(s3, "HEAD", "/bucket/there", 403, signed=False)
    # authentication: a wrong secret, an unknown key
    await _refused(s3, "GET", "/bucket/there", 403, secret="not-the-secret")
    await _refused(s3, "GET", "/bucket/there", 403, key="AKIAUNKNOWNKEY000001")
    # refused while parsed: a malformed bucket name, a malformed Authorization header
    await _refused(s3, "GET", "/b_/there", 400)
    await _refused(
        s3, "GET", "/bucket/there", 400, signed=False, headers={"Authorization": "AWS4-HMAC-SHA256"}
    )
    # a preflight no CORS rule allows
    await _refused(
        s3,
        "OPTIONS",
        "/bucket/there",
        403,
        signed=False,
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
    )


async def test_error_answers_leave_no_cycles(any_s3: TestClient[Any, Any]) -> None:
    s3 = any_s3
    await make_bucket(s3)
    await make_bucket(s3, "denied")
    await _call(s3, "PUT", "/bucket/there", body=DATA)
    await _call(s3, "PUT", "/denied/there", body=DATA)
    await _call(s3, "PUT", "/denied", "policy", json.dumps(_DENY_READS).encode(), status=204)
    await _errors(s3)  # imports, memos and caches settle first
    with cycles_of_ours() as found:
        for _ in range(ROUNDS):
            await _errors(s3)
    assert not found, f"left to the cyclic collector: {describe(found)}"


async def test_a_previous_secret_within_its_grace_leaves_no_cycles(
    s3: TestClient[Any, Any],
) -> None:
    """The mismatch of the current secret, tried first, is not kept while the previous
    one is (``gateway/s3/authn.with_rotation_grace``): a success path, during a rotation."""
    await make_bucket(s3)
    await _call(s3, "PUT", "/bucket/there", body=DATA)
    rotated = await s3.app[IDENTITY].rotate_key(ROOT_KEY, grace=timedelta(hours=1))
    assert rotated is not None
    await _call(s3, "GET", "/bucket/there")  # signed with the previous secret, ROOT_SECRET
    with cycles_of_ours() as found:
        for _ in range(ROUNDS):
            assert await _call(s3, "GET", "/bucket/there") == DATA
    assert not found, f"left to the cyclic collector: {describe(found)}"


_VERSIONING = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
_TAGS = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"


async def _other_operations(s3: TestClient[Any, Any], i: int) -> None:
    """One success of each other kind a workload repeats: a copy, tagging, a multipart
    upload, a ranged GET, the listings of versions and buckets, a batch and a single
    delete."""
    await _call(s3, "PUT", f"/bucket/o{i}", body=DATA)
    copied = _signed(
        s3, "PUT", f"/bucket/c{i}", "", b"", extra={"x-amz-copy-source": f"/bucket/o{i}"}
    )
    response = await s3.put(f"/bucket/c{i}", headers=copied)
    assert response.status == 200, await response.read()
    await _call(s3, "PUT", f"/bucket/o{i}", "tagging", _TAGS)
    assert b"<Key>a</Key>" in await _call(s3, "GET", f"/bucket/o{i}", "tagging")
    started = await _call(s3, "POST", f"/bucket/m{i}", "uploads")
    upload = started.split(b"<UploadId>", 1)[1].split(b"</UploadId>", 1)[0].decode()
    part = f"partNumber=1&uploadId={upload}"
    response = await s3.put(
        f"/bucket/m{i}?{part}", data=DATA, headers=_signed(s3, "PUT", f"/bucket/m{i}", part, DATA)
    )
    assert response.status == 200, await response.read()
    etag = response.headers["ETag"]
    done = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    await _call(s3, "POST", f"/bucket/m{i}", f"uploadId={upload}", done)
    ranged = _signed(s3, "GET", f"/bucket/o{i}", "", b"", extra={"range": "bytes=0-9"})
    response = await s3.get(f"/bucket/o{i}", headers=ranged)
    assert response.status == 206 and await response.read() == DATA[:10]
    assert b"<Version>" in await _call(s3, "GET", "/bucket", "versions")
    assert b"<Bucket>" in await _call(s3, "GET", "/")
    batch = f"<Delete><Object><Key>c{i}</Key></Object></Delete>".encode()
    md5 = base64.b64encode(hashlib.md5(batch).digest()).decode()
    signed = _signed(s3, "POST", "/bucket", "delete", batch, extra={"content-md5": md5})
    response = await s3.post("/bucket?delete", data=batch, headers=signed)
    assert response.status == 200, await response.read()
    await _call(s3, "DELETE", f"/bucket/o{i}", status=204)


async def test_other_operations_leave_no_cycles(any_s3: TestClient[Any, Any]) -> None:
    await make_bucket(any_s3)
    await _call(any_s3, "PUT", "/bucket", "versioning", _VERSIONING)
    await _other_operations(any_s3, 0)  # imports, pools and memos settle first
    with cycles_of_ours() as found:
        for i in range(1, 3):
            await _other_operations(any_s3, i)
    assert not found, f"left to the cyclic collector: {describe(found)}"
