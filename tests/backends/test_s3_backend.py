"""Upstream-specific behaviour of ``S3Backend`` (the shared contract is test_contract.py)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backends import BackendError, ByteRange, Conditions, ObjectMeta
from backends.s3 import S3Backend, UpstreamConfig
from backends.s3.listing import group_upper_bound
from backends.s3.multipart import _algorithm_refused
from backends.s3.upstream_errors import translate_error
from backends.types import ObjectInfo, ObjectLock
from sigv4 import SignedRequest, parse_auth, verify
from tests.backends.upstream_server import UpstreamServer, free_port, start_moto

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def moto_server() -> Iterator[UpstreamServer]:
    server = start_moto()
    yield server
    server.stop()


def config(endpoint: str, **kwargs: object) -> UpstreamConfig:
    values: dict[str, object] = {
        "endpoint_url": endpoint,
        "access_key_id": "AKIDGATEWAY",
        "secret_access_key": "gateway-secret",
        "bucket_prefix": f"u{uuid.uuid4().hex[:10]}-",
        "connect_timeout": 1.0,
        "read_timeout": 5.0,
        "ready_timeout": 1.0,
    }
    values.update(kwargs)
    return UpstreamConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def backend(moto_server: UpstreamServer) -> AsyncIterator[S3Backend]:
    b = S3Backend(config(moto_server.endpoint_url))
    await b.start()
    yield b
    await b.close()


class Repeat:
    """``count`` chunks of ``chunk``: a large body that allocates nothing itself."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self._chunk, self._count = chunk, count

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for _ in range(self._count):
            yield self._chunk

    @property
    def checksums(self) -> Mapping[str, str]:
        return {}


# -- a scripted fake upstream ---------------------------------------------------------------


@dataclass
class FakeUpstream:
    """Answers every request with ``response`` and records the request heads."""

    response: bytes
    heads: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":")[1]))
            writer.write(self.response)
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def fake() -> AsyncIterator[Callable[[bytes], Awaitable[FakeUpstream]]]:
    servers: list[asyncio.Server] = []

    async def make(response: bytes) -> FakeUpstream:
        upstream = FakeUpstream(response)
        upstream.server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
        servers.append(upstream.server)
        return upstream

    yield make
    for server in servers:
        server.close()
        await server.wait_closed()


def http_response(status: str, body: bytes, headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n{headers}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


LIST_BUCKETS = (
    b'<?xml version="1.0"?><ListAllMyBucketsResult><Buckets></Buckets>'
    b"<Owner><ID>x</ID></Owner></ListAllMyBucketsResult>"
)


def s3_error(code: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()


# -- tests ---------------------------------------------------------------------------------


async def test_upstream_down_is_service_unavailable_and_not_ready() -> None:
    backend = S3Backend(config(f"http://127.0.0.1:{free_port()}"))
    await backend.start()
    try:
        assert await backend.ready() is False
        for call in (
            backend.list_buckets(),
            backend.head_bucket("b"),
            backend.head_object("b", "k"),
            backend.get_object("b", "k"),
            backend.list_objects("b"),
            backend.put_object("b", "k", Repeat(b"x", 3), ObjectMeta(), size_hint=3),
            backend.put_object("b", "k", Repeat(b"x" * MiB, 9), ObjectMeta(), size_hint=9 * MiB),
        ):
            with pytest.raises(BackendError) as caught:
                await call
            assert caught.value.code == "ServiceUnavailable"
    finally:
        await backend.close()


async def test_not_started_backend_is_not_ready() -> None:
    backend = S3Backend(config("http://127.0.0.1:1"))
    assert await backend.ready() is False
    with pytest.raises(BackendError) as caught:
        await backend.list_buckets()
    assert caught.value.code == "ServiceUnavailable"


async def test_ready_against_a_live_upstream(moto_server: UpstreamServer) -> None:
    # a generous probe bound: the first call of a new client is slow on a loaded machine
    backend = S3Backend(config(moto_server.endpoint_url, ready_timeout=30.0))
    await backend.start()
    try:
        assert await backend.ready() is True
    finally:
        await backend.close()


async def test_any_upstream_answer_counts_as_ready(
    fake: Callable[..., Awaitable[FakeUpstream]],
) -> None:
    upstream = await fake(http_response("403 Forbidden", s3_error("AccessDenied")))
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        assert await backend.ready() is True
    finally:
        await backend.close()


async def test_only_the_configured_credentials_travel_upstream(
    fake: Callable[..., Awaitable[FakeUpstream]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials the process environment offers must never be picked up.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    upstream = await fake(http_response("200 OK", LIST_BUCKETS))
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        assert await backend.list_buckets() == []
    finally:
        await backend.close()
    [head] = upstream.heads
    text = head.decode().lower()
    assert "credential=akidgateway/" in text
    assert "akidfromenv" not in text
    assert "x-amz-security-token" not in text
    assert "env-token" not in text


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("503 Slow Down", "SlowDown", "SlowDown"),
        ("503 Service Unavailable", "ServiceUnavailable", "ServiceUnavailable"),
        ("500 Internal Server Error", "InternalError", "ServiceUnavailable"),
        ("403 Forbidden", "SignatureDoesNotMatch", "InternalError"),
        ("409 Conflict", "BucketAlreadyExists", "BucketAlreadyOwnedByYou"),
    ],
)
async def test_upstream_error_answers(
    fake: Callable[..., Awaitable[FakeUpstream]], status: str, code: str, expected: str
) -> None:
    upstream = await fake(http_response(status, s3_error(code)))
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        with pytest.raises(BackendError) as caught:
            await backend.list_objects("b")
        assert caught.value.code == expected
        assert len(upstream.heads) == 1  # no retries
    finally:
        await backend.close()


async def test_an_empty_key_markers_version_id_is_the_stores_to_judge(
    fake: Callable[..., Awaitable[FakeUpstream]],
) -> None:
    """An empty ``key-marker`` counts as one (the listing starts at the beginning), and
    its ``version-id-marker`` is still judged by the store, as with any key marker: a
    store that refuses the id (AWS: 400 "Invalid version id specified") refuses the
    listing, as the filesystem backend refuses an id it cannot have issued. The s3
    backend had dropped the id, so the listing was 200 here and 400 there."""
    upstream = await fake(http_response("400 Bad Request", s3_error("InvalidArgument")))
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        with pytest.raises(BackendError) as caught:
            await backend.list_object_versions("b", key_marker="", version_id_marker="bogus")
        assert caught.value.code == "InvalidArgument"
    finally:
        await backend.close()
    [head] = upstream.heads
    assert b"version-id-marker=bogus" in head.split(b"\r\n")[0]


async def test_connection_lost_mid_body_is_a_backend_error(
    fake: Callable[..., Awaitable[FakeUpstream]],
) -> None:
    truncated = (
        b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "abc"\r\n'
        b"Last-Modified: Wed, 01 Jan 2025 00:00:00 GMT\r\n\r\n" + b"x" * 10
    )
    upstream = await fake(truncated)
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        read = await backend.get_object("b", "k")
        with pytest.raises(BackendError) as caught:
            async for _ in read.body:
                pass
        assert caught.value.code == "ServiceUnavailable"
    finally:
        await backend.close()


async def test_bucket_prefix_maps_names_and_hides_other_buckets(
    moto_server: UpstreamServer,
) -> None:
    cfg = config(moto_server.endpoint_url)
    raw = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    raw.create_bucket(Bucket=f"other-{uuid.uuid4().hex[:8]}")
    backend = S3Backend(cfg)
    await backend.start()
    try:
        await backend.create_bucket("photos")
        names = [b["Name"] for b in raw.list_buckets()["Buckets"]]
        assert f"{cfg.bucket_prefix}photos" in names
        assert [b.name for b in await backend.list_buckets()] == ["photos"]
    finally:
        await backend.close()


@pytest.mark.parametrize("fast_path", [True, False])
async def test_bucket_errors_name_the_clients_bucket(
    moto_server: UpstreamServer, fast_path: bool
) -> None:
    """NoSuchBucket and BucketNotEmpty name the bucket as AWS does: the client's name,
    not the store's prefixed one, on the lean client and on aiobotocore alike."""
    cfg = config(moto_server.endpoint_url, fast_path=fast_path)
    backend = S3Backend(cfg)
    await backend.start()
    try:
        with pytest.raises(BackendError) as caught:
            await backend.list_objects("absent-bucket", max_keys=10)
        assert caught.value.code == "NoSuchBucket"
        assert caught.value.extra.get("BucketName") == "absent-bucket"
        await backend.create_bucket("busy")
        await backend.put_object("busy", "k", Repeat(b"a", 1), ObjectMeta(), size_hint=1)
        with pytest.raises(BackendError) as caught:
            await backend.delete_bucket("busy")
        assert caught.value.code == "BucketNotEmpty"
        assert caught.value.extra.get("BucketName") == "busy"
    finally:
        await backend.close()


async def test_reserved_metadata_cannot_be_set_by_clients(backend: S3Backend) -> None:
    await backend.create_bucket("resv")
    meta = ObjectMeta(user_metadata={"nfyio-checksum-crc32": "forged", "ok": "1"})
    await backend.put_object("resv", "k", Repeat(b"a", 1), meta, size_hint=1)
    head = await backend.head_object("resv", "k")
    assert dict(head.checksums) == {}
    assert dict(head.meta.user_metadata) == {"ok": "1"}


async def test_size_hint_mismatch_is_refused(moto_server: UpstreamServer) -> None:
    # spool_threshold=1 MiB: 10 bytes are spooled, 2 MiB stream straight upstream
    backend = S3Backend(config(moto_server.endpoint_url, spool_threshold=MiB))
    await backend.start()
    try:
        await backend.create_bucket("size")
        for size in (10, 2 * MiB):
            for hint in (size - 1, size + 1):
                body = Repeat(b"q" * size, 1)
                with pytest.raises(BackendError) as caught:
                    await backend.put_object("size", "k", body, ObjectMeta(), size_hint=hint)
                assert caught.value.code == "IncompleteBody"
        with pytest.raises(BackendError) as caught:
            await backend.head_object("size", "k")
        assert caught.value.code == "NoSuchKey"
    finally:
        await backend.close()


async def test_large_body_streams_with_bounded_memory(moto_server: UpstreamServer) -> None:
    backend = S3Backend(config(moto_server.endpoint_url, spool_threshold=MiB))
    await backend.start()
    try:
        await backend.create_bucket("large")
        chunk = bytes(range(256)) * 4096  # 1 MiB
        count = 64
        tracemalloc.start()
        try:
            info = await backend.put_object(
                "large", "k", Repeat(chunk, count), ObjectMeta(), size_hint=count * MiB
            )
            _, put_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            read = await backend.get_object("large", "k")
            digest = hashlib.md5()
            total = 0
            async for piece in read.body:
                digest.update(piece)
                total += len(piece)
            _, get_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        expected = hashlib.md5()
        for _ in range(count):
            expected.update(chunk)
        assert info.etag == expected.hexdigest()
        assert (total, digest.hexdigest()) == (count * MiB, expected.hexdigest())
        assert put_peak < 16 * MiB, put_peak
        assert get_peak < 16 * MiB, get_peak
    finally:
        await backend.close()


async def test_unknown_length_body_above_the_spool_memory(backend: S3Backend) -> None:
    """No size hint (a browser form's file) and more than the 8 MiB kept in memory: the
    spooled file goes upstream with its length (the lean client once took len() of it)."""
    await backend.create_bucket("spooled")
    chunk = bytes(range(256)) * 4096  # 1 MiB
    info = await backend.put_object("spooled", "k", Repeat(chunk, 9), ObjectMeta())
    expected = hashlib.md5(chunk * 9).hexdigest()
    assert (info.size, info.etag) == (9 * MiB, expected)
    assert (await backend.head_object("spooled", "k")).size == 9 * MiB


def test_config_repr_hides_the_secret() -> None:
    cfg = config("http://x", secret_access_key="s3cr3t-value", access_key_id="AKIDLONGKEY")
    assert "s3cr3t-value" not in repr(cfg)
    assert "AKIDLONGKEY" not in repr(cfg)


def test_config_requires_credentials_and_known_settings() -> None:
    with pytest.raises(ValueError):
        UpstreamConfig(endpoint_url=None, access_key_id="", secret_access_key="")
    with pytest.raises(ValueError):
        config("http://x", request_checksum_calculation="always")
    with pytest.raises(ValueError):
        config("http://x", addressing_style="sideways")


def test_error_translation_table() -> None:
    def client_error(code: str, status: int) -> ClientError:
        return ClientError(
            {
                "Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "Op",
        )

    assert (
        translate_error(client_error("404", 404), not_found="NoSuchBucket").code == "NoSuchBucket"
    )
    assert translate_error(client_error("304", 304)).code == "NotModified"
    assert translate_error(client_error("412", 412)).code == "PreconditionFailed"
    assert translate_error(client_error("AccessDenied", 403)).code == "InternalError"
    assert translate_error(client_error("Weird", 502)).code == "ServiceUnavailable"
    assert translate_error(EndpointConnectionError(endpoint_url="http://x")).code == (
        "ServiceUnavailable"
    )
    assert translate_error(TimeoutError()).code == "ServiceUnavailable"


def test_a_store_refusing_a_2026_algorithm_is_not_implemented() -> None:
    """Native checksums: the store's InvalidRequest to a CreateMultipartUpload naming one
    of the 2026 algorithms (SeaweedFS's answer) is NotImplemented naming the algorithm;
    any other refusal, or one of an older algorithm, stays the store's."""
    refused = BackendError("InvalidRequest", "Invalid Request")
    for algorithm in ("SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"):
        answer = _algorithm_refused(refused, algorithm)
        assert answer is not None
        assert (answer.code, answer.extra) == (
            "NotImplemented",
            {"Header": "x-amz-checksum-algorithm"},
        )
        assert answer.message == (
            f"The upstream store does not support multipart uploads with the {algorithm} "
            "checksum algorithm (Invalid Request)"
        )
    for older in ("CRC32", "SHA256", "CRC64NVME", None):
        assert _algorithm_refused(refused, older) is None
    assert _algorithm_refused(BackendError("AccessDenied", "no"), "SHA512") is None


@pytest.mark.parametrize(
    ("prefix", "delimiter", "marker", "expected"),
    [
        ("", "/", "a/", "a/\U0010ffff"),
        ("p/", "/", "p/a/", "p/a/\U0010ffff"),
        ("", "/", "a/b/", "a/\U0010ffff"),  # a key (or deeper prefix) inside group a/
        ("", "/", "a/1", "a/\U0010ffff"),
        ("p/", "/", "p/a/b", "p/a/\U0010ffff"),
        ("", "/", "a", None),
        ("", None, "a/", None),
        ("q/", "/", "a/", None),
        ("", "ab", "xab", "xab\U0010ffff"),
    ],
)
def test_group_upper_bound(
    prefix: str, delimiter: str | None, marker: str, expected: str | None
) -> None:
    assert group_upper_bound(prefix, delimiter, marker) == expected


async def test_streamed_checksums_above_the_copy_limit_are_not_stored(
    moto_server: UpstreamServer,
) -> None:
    backend = S3Backend(
        config(moto_server.endpoint_url, spool_threshold=1024, checksum_copy_max=2048)
    )

    class WithSums(Repeat):
        @property
        def checksums(self) -> Mapping[str, str]:
            return {"CRC32": "AAAAAA=="}

    await backend.start()
    try:
        await backend.create_bucket("cmax")
        small = await backend.put_object(
            "cmax", "s", WithSums(b"a" * 2000, 1), ObjectMeta(), size_hint=2000
        )
        large = await backend.put_object(
            "cmax", "l", WithSums(b"a" * 3000, 1), ObjectMeta(), size_hint=3000
        )
        assert dict(small.checksums) == {"CRC32": "AAAAAA=="}
        assert dict((await backend.head_object("cmax", "s")).checksums) == {"CRC32": "AAAAAA=="}
        assert dict(large.checksums) == {}
        assert dict((await backend.head_object("cmax", "l")).checksums) == {}
    finally:
        await backend.close()


# -- the lean client (hot operations without aiobotocore) -----------------------------------


def _signed_request(head: bytes) -> SignedRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    path, _, query = target.partition("?")
    headers = tuple(
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    )
    return SignedRequest(method=method, raw_path=path, raw_query=query, headers=headers)


async def test_hot_operations_are_signed_verifiably_without_aiobotocore(
    fake: Callable[..., Awaitable[FakeUpstream]],
) -> None:
    upstream = await fake(
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "0123abc"\r\n'
        b"Last-Modified: Wed, 01 Jan 2025 10:00:00 GMT\r\nContent-Type: text/plain\r\n"
        b"x-amz-meta-colour: blue\r\nx-amz-meta-nfyio-checksum-crc32: AAAAAA==\r\n"
        b"Connection: close\r\n\r\n"
    )
    backend = S3Backend(config(upstream.url))
    await backend.start()
    try:
        info = await backend.head_object("bkt", "dir/a b+c~é", version_id="null")
    finally:
        await backend.close()
    assert (info.size, info.etag, info.meta.content_type) == (5, "0123abc", "text/plain")
    assert info.last_modified == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert dict(info.meta.user_metadata) == {"colour": "blue"}
    assert dict(info.checksums) == {"CRC32": "AAAAAA=="}
    [head] = upstream.heads
    assert b"aiobotocore" not in head.lower() and b"botocore" not in head.lower()
    request = _signed_request(head)
    # the null version is named upstream (in a suspended bucket it need not be the latest)
    assert (request.method, request.raw_query) == ("HEAD", "versionId=null")
    assert request.raw_path == f"/{backend.config.bucket_prefix}bkt/dir/a%20b%2Bc~%C3%A9"
    auth = parse_auth(request)
    assert auth is not None and auth.access_key_id == "AKIDGATEWAY"
    verify(request, auth, "gateway-secret", datetime.now(UTC))  # raises if it does not hold


@pytest.mark.parametrize("fast_path", [True, False], ids=["lean", "aiobotocore"])
async def test_both_clients_give_the_same_answers(
    moto_server: UpstreamServer, fast_path: bool
) -> None:
    backend = S3Backend(config(moto_server.endpoint_url, fast_path=fast_path))
    await backend.start()
    try:
        await backend.create_bucket("same")
        # a gzip-encoded object travels as stored, never decompressed on the way
        compressed = gzip.compress(b"hello " * 100)
        meta = ObjectMeta(content_type="text/plain", content_encoding="gzip")
        put = await backend.put_object(
            "same", "z/1", Repeat(compressed, 1), meta, size_hint=len(compressed)
        )
        read = await backend.get_object("same", "z/1")
        body = b"".join([chunk async for chunk in read.body])
        assert body == compressed
        assert read.info.meta.content_encoding == "gzip"
        assert read.info.etag == put.etag == hashlib.md5(compressed).hexdigest()
        ranged = await backend.get_object("same", "z/1", byte_range=ByteRange(1, 3))
        assert (ranged.first, ranged.last, ranged.partial) == (1, 3, True)
        assert b"".join([chunk async for chunk in ranged.body]) == compressed[1:4]
        await backend.put_object("same", "a+b c", Repeat(b"x", 2), ObjectMeta(), size_hint=2)
        page = await backend.list_objects("same", delimiter="/")
        assert [o.key for o in page.objects] == ["a+b c"]
        assert page.common_prefixes == ("z/",)
        assert page.objects[0].etag == hashlib.md5(b"xx").hexdigest()
        head = await backend.head_object("same", "z/1")
        assert head.last_modified.tzinfo is not None and head.size == len(compressed)
        with pytest.raises(BackendError) as caught:
            await backend.get_object("same", "z/1", conditions=Conditions(if_match=("0" * 32,)))
        assert caught.value.code == "PreconditionFailed"
    finally:
        await backend.close()


class _Checksummed(Repeat):
    """A body whose checksum the gateway verified (it is recorded in the metadata)."""

    @property
    def checksums(self) -> Mapping[str, str]:
        return {"CRC32": "AAAAAA=="}


async def test_both_clients_read_an_answer_into_the_same_object_info(
    moto_server: UpstreamServer,
) -> None:
    """HeadObject and GetObject answers are read from their headers by one function for
    both clients (``meta.object_info``): every field of the ``ObjectInfo`` agrees, for an
    object with every kind of header an answer can carry."""
    until = datetime(2099, 1, 1, tzinfo=UTC)
    meta = ObjectMeta(
        content_type="text/csv",
        content_encoding="identity",
        content_disposition='attachment; filename="a.csv"',
        content_language="de",
        cache_control="max-age=60",
        expires="Wed, 21 Oct 2099 07:28:00 GMT",
        user_metadata={"Owner": "Ana", "nfyio-forged": "x", "empty": ""},
        storage_class="STANDARD_IA",
    )
    infos: dict[bool, list[ObjectInfo]] = {}
    prefix = f"u{uuid.uuid4().hex[:10]}-"
    for fast_path in (True, False):
        backend = S3Backend(
            config(moto_server.endpoint_url, fast_path=fast_path, bucket_prefix=prefix)
        )
        await backend.start()
        try:
            if fast_path:
                await backend.create_bucket("same-info", object_lock=True)
                await backend.put_object(
                    "same-info",
                    "k",
                    _Checksummed(b"abc", 2),
                    meta,
                    size_hint=6,
                    object_lock=ObjectLock("GOVERNANCE", until, legal_hold=True),
                    tags=(("team", "blue"), ("tier", "1")),
                )
            read = await backend.get_object("same-info", "k")
            await read.aclose()
            infos[fast_path] = [await backend.head_object("same-info", "k"), read.info]
        finally:
            await backend.close()
    head, got = infos[True]
    assert infos[False] == [head, got]
    assert head == got
    assert head.size == 6 and head.etag == hashlib.md5(b"abcabc").hexdigest()
    assert head.meta.user_metadata == {"owner": "Ana", "empty": ""}  # reserved keys stay out
    assert (head.meta.content_disposition, head.meta.expires, head.meta.storage_class) == (
        'attachment; filename="a.csv"',
        "Wed, 21 Oct 2099 07:28:00 GMT",
        "STANDARD_IA",
    )
    assert head.checksums == {"CRC32": "AAAAAA=="}
    assert head.lock == ObjectLock("GOVERNANCE", until, legal_hold=True)
    assert head.tag_count == 2
    assert head.version_id and head.last_modified.tzinfo is not None


def _part_answer(checksum_headers: str) -> bytes:
    """The store's answer to GET ?partNumber=2 of a two-part object (4 + 3 bytes)."""
    return (
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n"
        b'Content-Range: bytes 4-6/7\r\nETag: "0123456789abcdef0123456789abcdef-2"\r\n'
        b"x-amz-mp-parts-count: 2\r\n" + checksum_headers.encode() + b"Connection: close\r\n\r\nxyz"
    )


@pytest.mark.parametrize(
    ("checksum_headers", "expected"),
    [
        # the part's own checksum (S3's answer): passed on as the part's
        (
            "x-amz-checksum-crc32: KcXFnQ==\r\nx-amz-checksum-type: COMPOSITE\r\n",
            {"CRC32": "KcXFnQ=="},
        ),
        # the whole object's composite value, or its FULL_OBJECT value: no bytes of the part
        ("x-amz-checksum-crc32: BOvzQg==-2\r\nx-amz-checksum-type: COMPOSITE\r\n", None),
        ("x-amz-checksum-crc32: rwZaRA==\r\nx-amz-checksum-type: FULL_OBJECT\r\n", None),
        ("", None),  # none (SeaweedFS)
    ],
    ids=["part", "object-composite", "full-object", "none"],
)
@pytest.mark.parametrize("fast_path", [True, False], ids=["lean", "aiobotocore"])
async def test_a_part_read_answers_the_checksum_the_store_gives_for_the_part(
    fake: Callable[..., Awaitable[FakeUpstream]],
    checksum_headers: str,
    expected: dict[str, str] | None,
    fast_path: bool,
) -> None:
    """GET/HEAD ?partNumber with checksum mode: the part of a COMPOSITE multipart object
    answers the part's own checksum where the store answers it (as the filesystem backend
    does, docs/upstream-backend.md); it used to be dropped, and a value that describes the
    whole object is never passed on as the part's (a client would refuse the part)."""
    upstream = await fake(_part_answer(checksum_headers))
    backend = S3Backend(config(upstream.url, native_checksums=True, fast_path=fast_path))
    await backend.start()
    try:
        read = await backend.get_object("bkt", "k", part_number=2)
        try:
            assert (read.first, read.last, read.partial) == (4, 6, True)
            assert read.part_checksums == expected
        finally:
            await read.aclose()
    finally:
        await backend.close()
    [head] = upstream.heads
    assert b"partNumber=2" in head and b"x-amz-checksum-mode: ENABLED" in head
