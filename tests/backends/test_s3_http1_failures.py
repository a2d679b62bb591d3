"""The lean client's HTTP/1.1 transport when things go wrong: timeouts, stores closing
connections, TLS; and the ``BackendError`` the lean client turns each into."""

from __future__ import annotations

import asyncio
import contextlib
import io
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
import trustme

from backends import BackendError
from backends.s3 import UpstreamConfig
from backends.s3.http1 import Body, ConnectTimeout, Pool, ReadTimeout, TransportError
from backends.s3.lean import LeanClient
from backends.s3.upstream_errors import translate
from tests.backends.http1_servers import RawServer, answer, raw_server, read_request

MiB = 1024 * 1024


@contextlib.asynccontextmanager
async def pool_of(**kwargs: object) -> AsyncIterator[Pool]:
    values: dict[str, object] = {"limit": 4, "connect_timeout": 2.0, "read_timeout": 5.0}
    values.update(kwargs)
    pool = Pool(**values)  # type: ignore[arg-type]
    try:
        yield pool
    finally:
        await pool.close()


def headers(server: RawServer, **more: str) -> dict[str, str]:
    return {"host": server.authority, **more}


async def get(pool: Pool, server: RawServer, body: bytes | None = None) -> bytes:
    sent = headers(server) if body is None else headers(server, **{"content-length": "3"})
    response = await pool.request(
        "GET" if body is None else "PUT", server.authority, "/", sent, body
    )
    try:
        return await response.read_all()
    finally:
        response.close()


async def stream() -> AsyncIterator[bytes]:
    yield b"abc"


# -- timeouts ------------------------------------------------------------------------

SHORT_READ: dict[str, object] = {"read_timeout": 0.3, "connect_timeout": 30.0}
"""A short read timeout among long other timeouts (the connect timeout, a store's 30 s
silence): a timeout that came from the read timeout is the only one that can end a
request before ``UNDER_THE_OTHERS``, which leaves a loaded machine seconds to spare."""

UNDER_THE_OTHERS = 10.0


async def test_read_timeout_when_the_store_never_answers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with raw_server(silent) as server, pool_of(**SHORT_READ) as pool:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ReadTimeout):
            await get(pool, server)
        assert 0.25 < asyncio.get_running_loop().time() - started < UNDER_THE_OTHERS
        assert pool.open_connections == 0


@pytest.mark.parametrize("pause", [0.05, 0.5], ids=["timer still armed", "timer lapsed"])
async def test_read_timeout_on_a_reused_connection(pause: float) -> None:
    """One timer per connection, kept across requests: the second request on a kept-alive
    connection times out from its own start, whether the first request's timer is still
    armed (0.05 s later) or already fired and lapsed (0.5 s later, with read_timeout 0.3)."""

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(answer(body=b"first"))
        await read_request(reader)
        await asyncio.sleep(30)

    async with raw_server(once) as server, pool_of(**SHORT_READ) as pool:
        assert await get(pool, server) == b"first"
        await asyncio.sleep(pause)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ReadTimeout):
            await get(pool, server)
        assert 0.25 < asyncio.get_running_loop().time() - started < UNDER_THE_OTHERS
        assert server.connections == 1  # the second request went on the kept connection


async def test_read_timeout_counts_from_the_last_byte_not_from_the_request() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n")
        # 2 s in all, twice the read timeout, a byte every 0.1 s: a pause of the machine
        # would have to last most of a second to make a 1 s silence (0.2 s did with 0.3 s)
        for _ in range(20):
            await asyncio.sleep(0.1)
            writer.write(b"t")
        await asyncio.sleep(30)  # then silence with 10 bytes missing

    async with raw_server(trickle) as server, pool_of(read_timeout=1.0) as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        received = b""
        with pytest.raises(ReadTimeout):
            while chunk := await response.read(1):
                received += chunk
        assert received == b"t" * 20
        response.close()


async def test_a_slow_reader_is_not_a_read_timeout() -> None:
    """Reading paused by back-pressure: the store is not the slow side."""

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(answer(body=b"r" * (8 * MiB)))
        await writer.drain()

    async with raw_server(big) as server, pool_of(read_timeout=0.3) as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        assert await response.read(1024)
        await asyncio.sleep(1.0)
        assert len(await response.read_all()) == 8 * MiB - 1024
        response.close()


async def test_a_slow_request_body_source_is_not_a_read_timeout() -> None:
    """Each pause of the body's source outlasts the read timeout; the store's answer then
    comes at once, and a read timeout of a second leaves a loaded machine time to get it
    there (0.2 s could run out between the last piece and the answer)."""

    async def slow_source() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(1.2)
            yield b"abc"

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        assert request is not None
        writer.write(answer(body=request.body))

    async with raw_server(store) as server, pool_of(read_timeout=1.0) as pool:
        sent = headers(server, **{"content-length": "9"})
        response = await pool.request("PUT", server.authority, "/", sent, slow_source())
        assert await response.read_all() == b"abc" * 3
        response.close()


async def test_connect_timeout_covers_the_tls_handshake() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await asyncio.sleep(30)  # accepts TCP, never answers the TLS handshake

    context = ssl.create_default_context()
    async with raw_server(mute) as server, pool_of(connect_timeout=0.3, ssl_context=context) as p:
        with pytest.raises(ConnectTimeout):
            await get(p, server)
        assert p.open_connections == 0


# -- connections the store closes ------------------------------------------------------


async def test_an_idle_connection_the_store_closed_is_not_reused() -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer(body=f"c{n}".encode()))  # kept alive, then closed when idle
        await writer.drain()

    async with raw_server(once) as server, pool_of() as pool:
        assert await get(pool, server) == b"c1"
        async with asyncio.timeout(30):  # a fixed 0.1 s could pass before the close is seen
            while pool.idle_connections():
                await asyncio.sleep(0.01)
        assert pool.idle_connections() == 0  # connection_lost seen while idle
        assert await get(pool, server) == b"c2"


async def closes_second_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
) -> None:
    await read_request(reader)
    writer.write(answer(body=f"c{n}".encode()))
    await writer.drain()
    if n == 1:  # the race: takes the next request, then closes without a byte
        await read_request(reader)


@pytest.mark.parametrize("body", [None, b"abc"])
async def test_a_reused_connection_closed_before_answering_is_retried_once(
    body: bytes | None,
) -> None:
    async with raw_server(closes_second_request) as server, pool_of() as pool:
        assert await get(pool, server, body) == b"c1"
        assert await get(pool, server, body) == b"c2"  # sent again on a fresh connection
        assert server.connections == 2


async def test_a_streamed_body_is_not_retried() -> None:
    async with raw_server(closes_second_request) as server, pool_of() as pool:
        assert await get(pool, server) == b"c1"
        sent = headers(server, **{"content-length": "3"})
        with pytest.raises(TransportError):
            await pool.request("PUT", server.authority, "/", sent, stream())
        assert server.connections == 1


async def test_a_conditional_put_is_not_retried() -> None:
    async with raw_server(closes_second_request) as server, pool_of() as pool:
        assert await get(pool, server) == b"c1"
        sent = headers(server, **{"content-length": "3", "if-none-match": "*"})
        with pytest.raises(TransportError):
            await pool.request("PUT", server.authority, "/", sent, b"abc")


async def test_closing_mid_body_is_an_error_and_a_fresh_connection_is_not_retried() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part")

    async with raw_server(cut) as server, pool_of() as pool:
        with pytest.raises(TransportError, match="mid-answer"):
            await get(pool, server)
        with pytest.raises(TransportError, match="closed the connection"):
            await get(pool, server)  # never reused: no retry
        assert server.connections == 2


# -- an answer while the body's source is awaited ---------------------------------------


class HeldBack:
    """A streamed body that sends its first piece, then holds the rest back (a client
    waiting to see an answer first) until ``release``; notes how its wait ended."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.ended = ""

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            yield b"x" * 1024
            self.holding.set()
            await self.release.wait()
            yield b"x" * 1024
        except asyncio.CancelledError:
            self.ended = "cancelled"
            raise


async def test_an_early_answer_while_the_source_holds_back_is_returned_at_once() -> None:
    async def refuses(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader, body=False)
        writer.write(answer(507, b"<Error><Code>InsufficientStorage</Code></Error>"))
        await reader.read()  # reads whatever comes until the client closes

    body = HeldBack()
    async with raw_server(refuses) as server, pool_of(read_timeout=30.0) as pool:
        sent = headers(server, **{"content-length": "2048"})
        # bounded: before the fix the transport waited on the source for ever
        async with asyncio.timeout(UNDER_THE_OTHERS):
            response = await pool.request("PUT", server.authority, "/", sent, body.chunks())
        assert response.status == 507
        assert b"InsufficientStorage" in await response.read_all()
        response.close()
        assert body.ended == "cancelled"
        assert pool.open_connections == 0  # the body was cut: never reused


async def test_a_store_closing_while_the_source_holds_back_fails_at_once() -> None:
    async def closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader, body=False)

    body = HeldBack()
    async with raw_server(closes) as server, pool_of(read_timeout=30.0) as pool:
        sent = headers(server, **{"content-length": "2048"})
        async with asyncio.timeout(UNDER_THE_OTHERS):
            with pytest.raises(TransportError, match="closed the connection"):
                await pool.request("PUT", server.authority, "/", sent, body.chunks())
        assert body.ended == "cancelled"


async def test_cancelling_the_request_while_the_source_holds_back_still_cancels_it() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader, body=False)
        await reader.read()

    body = HeldBack()
    async with raw_server(silent) as server, pool_of(read_timeout=30.0) as pool:
        sent = headers(server, **{"content-length": "2048"})
        task = asyncio.create_task(pool.request("PUT", server.authority, "/", sent, body.chunks()))
        async with asyncio.timeout(UNDER_THE_OTHERS):
            await body.holding.wait()  # the first piece is out, the source holds back
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert body.ended == "cancelled"


# -- a store that stops taking the body ------------------------------------------------

UPLOAD = 32 * MiB
"""Far more than the socket buffers on both sides hold: the transport must wait for the
store to take more of it."""


def upload_body(kind: str) -> Body:
    data = b"u" * UPLOAD
    if kind == "bytes":
        return data
    if kind == "file":
        return io.BytesIO(data)

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, UPLOAD, MiB):
            yield data[offset : offset + MiB]

    return chunks()


@dataclass
class Staller:
    """A store that takes the first MiB of an upload, then (``answer``: after answering
    403 half a second later) neither reads nor closes until ``release``; then it reads
    what is left until the client's end and counts it."""

    answer: bool
    release: asyncio.Event = field(default_factory=asyncio.Event)
    received = 0
    ended = False

    async def __call__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        await read_request(reader, body=False)
        self.received = len(await reader.readexactly(MiB))
        if self.answer:
            # the client fills the socket buffers meanwhile and waits for the store to
            # take more (the answer passes either way: this only makes that wait likely)
            await asyncio.sleep(0.5)
            writer.write(answer(403, b"<Error><Code>AccessDenied</Code></Error>"))
        await self.release.wait()
        try:
            while chunk := await reader.read(MiB):
                self.received += len(chunk)
        except ConnectionError:
            pass
        self.ended = True


@pytest.mark.parametrize("kind", ["bytes", "file", "stream"])
async def test_an_early_answer_while_the_store_takes_no_more_body_is_returned(kind: str) -> None:
    """The store answers 403 after the first MiB, then neither reads nor closes: the read
    timer lapses with the whole answer, so before the fix nothing ended the wait to send
    more body. The answer comes at once; the connection is closed, its unsent bytes with
    it."""
    store = Staller(answer=True)
    async with raw_server(store) as server, pool_of(read_timeout=30.0) as pool:
        sent = headers(server, **{"content-length": str(UPLOAD)})
        async with asyncio.timeout(UNDER_THE_OTHERS):
            response = await pool.request("PUT", server.authority, "/", sent, upload_body(kind))
            assert response.status == 403
            assert b"AccessDenied" in await response.read_all()
        response.close()
        assert pool.open_connections == 0  # the body was cut: never reused
        store.release.set()
        async with asyncio.timeout(UNDER_THE_OTHERS):
            while not store.ended:  # the store reads to the end the gateway made
                await asyncio.sleep(0.01)
        assert store.received < UPLOAD


@pytest.mark.parametrize("kind", ["bytes", "file", "stream"])
async def test_a_store_that_stops_taking_the_body_is_a_read_timeout(kind: str) -> None:
    """No answer and no more body taken: ``read_timeout`` (the store made no progress,
    reading or writing, for that long) ends the request."""
    store = Staller(answer=False)
    async with raw_server(store) as server, pool_of(**SHORT_READ) as pool:
        sent = headers(server, **{"content-length": str(UPLOAD)})
        started = asyncio.get_running_loop().time()
        with pytest.raises(ReadTimeout):
            await pool.request("PUT", server.authority, "/", sent, upload_body(kind))
        assert 0.25 < asyncio.get_running_loop().time() - started < UNDER_THE_OTHERS
        assert pool.open_connections == 0
        store.release.set()


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> Iterator[trustme.CA]:
    yield trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
    while (request := await read_request(reader)) is not None:
        writer.write(answer(body=request.target.encode()))
        await writer.drain()


async def test_tls_store_with_a_trusted_certificate(ca: trustme.CA) -> None:
    client = ssl.create_default_context()
    ca.configure_trust(client)
    serving = raw_server(keep, ssl_context=server_context(ca))
    async with serving as server, pool_of(ssl_context=client) as pool:
        assert await get(pool, server) == b"/"
        assert await get(pool, server) == b"/"
        assert server.connections == 1


async def test_tls_store_with_an_untrusted_certificate_is_refused(ca: trustme.CA) -> None:
    serving = raw_server(keep, ssl_context=server_context(ca))
    async with serving as server, pool_of(ssl_context=ssl.create_default_context()) as pool:
        with pytest.raises(ssl.SSLCertVerificationError):
            await get(pool, server)


# -- what the lean client makes of it ------------------------------------------------------


def lean_config(endpoint: str, **kwargs: object) -> UpstreamConfig:
    values: dict[str, object] = {
        "endpoint_url": endpoint,
        "access_key_id": "AKIDGATEWAY",
        "secret_access_key": "gateway-secret",
        "connect_timeout": 0.3,
        "read_timeout": 0.3,
    }
    values.update(kwargs)
    return UpstreamConfig(**values)  # type: ignore[arg-type]


async def head(client: LeanClient) -> dict[str, object]:
    with translate():
        return await client.call("head_object", not_found="NoSuchKey", Bucket="b", Key="k")


async def test_lean_client_over_tls_trusts_the_system_store(
    ca: trustme.CA, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = f"{tmp_path}/ca.pem"
    ca.cert_pem.write_to_path(bundle)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)  # OpenSSL's default verify paths

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
            writer.write(answer(headers={"content-length": "5", "etag": '"x"'}))

    async with raw_server(store, ssl_context=server_context(ca)) as server:
        # Timeouts far above a TLS handshake and an answer on a loaded machine (the 0.3 s
        # the failure tests use could run out in the handshake, which is CPU work)
        endpoint = f"https://localhost:{server.port}"
        client = LeanClient(lean_config(endpoint, connect_timeout=10.0, read_timeout=10.0))
        await client.start()
        try:
            fields = await head(client)
        finally:
            await client.close()
    assert fields["ETag"] == '"x"'
    assert fields["ContentLength"] == 5


async def test_lean_client_errors_are_service_unavailable_or_slow_down() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with raw_server(silent) as server:
        # The first request holds the only connection until its read timeout (5 s), far
        # longer than the second waits for it (0.3 s) even on a loaded machine (with 1 s
        # the first could give the connection up before the second stopped waiting).
        config = lean_config(f"http://{server.authority}", max_pool_connections=1, read_timeout=5.0)
        client = LeanClient(config)
        await client.start()
        try:
            first = asyncio.create_task(head(client))
            await asyncio.sleep(0.05)
            with pytest.raises(BackendError) as busy:
                await head(client)  # the only connection is busy: waited 0.3 s
            assert busy.value.code == "SlowDown"
            with pytest.raises(BackendError) as timed_out:
                await first
            assert timed_out.value.code == "ServiceUnavailable"
        finally:
            await client.close()
