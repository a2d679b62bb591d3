"""HeadBucket through the lean client: the same results as through aiobotocore.

Every proxied HEAD or GET of a missing key asks HeadBucket which one is missing, so it
moved from aiobotocore to the lean client (``lean.LEAN_OPERATIONS``). These tests hold
the two clients (``UpstreamConfig.fast_path`` on and off) to the same ``BucketInfo`` or
the same ``BackendError`` (code, message, extra) for every kind of answer a store gives:
scripted answers of every status, and existing, missing and forbidden buckets on moto and
SeaweedFS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from backends import BackendError
from backends.s3 import S3Backend, UpstreamConfig
from tests.backends.upstream_server import UpstreamServer, start_moto
from tests.services.seaweedfs import SeaweedFS

Outcome = tuple[object, ...]


@dataclass
class Scripted:
    """Answers every request with ``answer`` and records the request heads."""

    answer: bytes
    heads: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(self.answer)
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[bytes], Awaitable[tuple[Scripted, str]]]]:
    servers: list[asyncio.Server] = []

    async def make(answer: bytes) -> tuple[Scripted, str]:
        upstream = Scripted(answer)
        server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
        servers.append(server)
        return upstream, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield make
    for server in servers:
        server.close()
        await server.wait_closed()


def _config(endpoint: str, *, fast_path: bool, **kwargs: object) -> UpstreamConfig:
    values: dict[str, object] = {
        "endpoint_url": endpoint,
        "access_key_id": "AKIDGATEWAY",
        "secret_access_key": "gateway-secret",
        "bucket_prefix": "gw-",
        "connect_timeout": 1.0,
        "read_timeout": 5.0,
        "fast_path": fast_path,
    }
    values.update(kwargs)
    return UpstreamConfig(**values)  # type: ignore[arg-type]


async def _outcome(config: UpstreamConfig, bucket: str) -> Outcome:
    """What ``head_bucket`` gives: the bucket's name and region, or the error."""
    backend = S3Backend(config)
    await backend.start()
    try:
        info = await backend.head_bucket(bucket)
    except BackendError as exc:
        return ("error", exc.code, exc.message, dict(exc.extra))
    finally:
        await backend.close()
    return ("bucket", info.name, info.region)


def _answer(status: str, headers: str = "") -> bytes:
    """A HEAD's answer: a head only (a Content-Length, as stores send, and no body)."""
    return (
        f"HTTP/1.1 {status}\r\n{headers}Content-Type: application/xml\r\n"
        "Content-Length: 243\r\nx-amz-request-id: R1\r\nConnection: close\r\n\r\n"
    ).encode()


_REGION = "x-amz-bucket-region: eu-west-3\r\n"
_ANSWERS = {
    "200-region": (_answer("200 OK", _REGION), ("bucket", "b", "eu-west-3")),
    "200": (_answer("200 OK"), ("bucket", "b", "us-east-1")),
    "404": (_answer("404 Not Found"), ("error", "NoSuchBucket", "Not Found", {"BucketName": "b"})),
    "403": (_answer("403 Forbidden", _REGION), ("error", "InternalError")),
    "401": (_answer("401 Unauthorized"), ("error", "InternalError")),
    "400": (_answer("400 Bad Request"), ("error", "InvalidRequest", "Bad Request", {})),
    "400-region": (_answer("400 Bad Request", _REGION), ("error", "InvalidRequest")),
    # a redirect is followed once, to the region named; the store redirecting again (or
    # naming none: no HeadBucket is asked for it) is the store's fault (redirects.py)
    "301-region": (_answer("301 Moved Permanently", _REGION), ("error", "ServiceUnavailable")),
    "301": (_answer("301 Moved Permanently"), ("error", "ServiceUnavailable")),
    "307": (_answer("307 Temporary Redirect", _REGION), ("error", "ServiceUnavailable")),
    "405": (_answer("405 Method Not Allowed"), ("error", "MethodNotAllowed")),
    "410": (_answer("410 Gone"), ("error", "InvalidRequest", "upstream store: 410: Gone", {})),
    "429": (_answer("429 Too Many Requests", "Retry-After: 7\r\n"), ("error", "SlowDown")),
    "500": (_answer("500 Internal Server Error"), ("error", "ServiceUnavailable")),
    "503": (_answer("503 Slow Down", "Retry-After: 3\r\n"), ("error", "ServiceUnavailable")),
}


@pytest.mark.parametrize("name", list(_ANSWERS))
async def test_every_answer_is_the_same_through_both_clients(
    scripted: Callable[[bytes], Awaitable[tuple[Scripted, str]]], name: str
) -> None:
    """A scripted store's answer of each kind: the lean client's result is aiobotocore's
    (a redirect is left to aiobotocore, which follows it as botocore's redirector does)."""
    answer, expected = _ANSWERS[name]
    outcomes: dict[bool, Outcome] = {}
    for fast_path in (True, False):
        upstream, url = await scripted(answer)
        outcomes[fast_path] = await _outcome(_config(url, fast_path=fast_path), "b")
        first = upstream.heads[0]
        # the lean client's request (no SDK's User-Agent), aiobotocore's otherwise
        assert (b"botocore" not in first.lower()) is fast_path
        assert first.startswith(b"HEAD /gw-b HTTP/1.1\r\n")
    assert outcomes[True] == outcomes[False]
    assert outcomes[True][: len(expected)] == expected


@pytest.fixture(scope="module")
def moto_server() -> Iterator[UpstreamServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def moto_with_auth() -> Iterator[UpstreamServer]:
    """A moto server that checks credentials (it knows none of ours: every request is
    refused with 403)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")
        server = start_moto()
    yield server
    server.stop()


async def _existing_missing_forbidden(
    store: Callable[[bool], UpstreamConfig], refusing: Callable[[bool], UpstreamConfig]
) -> list[Outcome]:
    """HeadBucket of an existing and a missing bucket on ``store``, and of the same
    bucket where the store refuses the gateway (``refusing``): the lean client's
    outcomes, once they are checked to be aiobotocore's."""
    outcomes: dict[bool, list[Outcome]] = {}
    for fast_path in (True, False):
        config = store(fast_path)
        if fast_path:
            backend = S3Backend(config)
            await backend.start()
            try:
                await backend.create_bucket("here")
            finally:
                await backend.close()
        outcomes[fast_path] = [
            await _outcome(config, "here"),
            await _outcome(config, "gone"),
            await _outcome(refusing(fast_path), "here"),
        ]
    assert outcomes[True] == outcomes[False]
    return outcomes[True]


_REFUSED: Outcome = ("error", "InternalError", "the upstream store refused the gateway", {})


async def test_moto_buckets_are_the_same_through_both_clients(
    moto_server: UpstreamServer, moto_with_auth: UpstreamServer
) -> None:
    prefix = f"h{uuid.uuid4().hex[:10]}-"
    found = await _existing_missing_forbidden(
        lambda fast: _config(moto_server.endpoint_url, fast_path=fast, bucket_prefix=prefix),
        lambda fast: _config(moto_with_auth.endpoint_url, fast_path=fast, bucket_prefix=prefix),
    )
    assert found == [
        ("bucket", "here", "us-east-1"),
        ("error", "NoSuchBucket", "Not Found", {"BucketName": "gone"}),
        _REFUSED,
    ]


async def test_seaweedfs_buckets_are_the_same_through_both_clients(seaweedfs: SeaweedFS) -> None:
    prefix = f"h{uuid.uuid4().hex[:10]}-"

    def config(fast_path: bool, secret: str = seaweedfs.secret_key) -> UpstreamConfig:
        return _config(
            seaweedfs.endpoint_url,
            fast_path=fast_path,
            bucket_prefix=prefix,
            access_key_id=seaweedfs.access_key,
            secret_access_key=secret,
        )

    found = await _existing_missing_forbidden(config, lambda fast: config(fast, "not-the-secret"))
    assert found == [
        ("bucket", "here", "us-east-1"),
        ("error", "NoSuchBucket", "Not Found", {"BucketName": "gone"}),
        _REFUSED,
    ]
