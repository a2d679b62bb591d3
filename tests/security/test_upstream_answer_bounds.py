"""What the upstream store answers is bounded too: the lean client holds at most
``HEAD_MAX`` bytes of an answer's head and ``LIST_BODY_MAX`` bytes of a listing page, and
remembers at most ``_NAMES_MAX`` header names across answers.

The store is configured by the operator, but it is still a peer on the network: a broken or
hostile one that sent headers without end, or a listing page without end, grew the
gateway's memory without end (llhttp sets no limit on a head; a page was read whole). Each
class here has a store, on a real socket, that does it, and a store just under the limit.
"""

from __future__ import annotations

import asyncio

import pytest

from backends import BackendError
from backends.s3 import UpstreamConfig, http1_response
from backends.s3.http1 import HEAD_MAX, Pool, TransportError
from backends.s3.lean import LIST_BODY_MAX, LeanClient
from backends.s3.upstream_errors import translate
from tests.backends.http1_servers import RawServer, answer, raw_server, read_request

# A hostile store never stops on its own: a missing limit shows as this timeout.
_BOUND = 20.0


async def _endless_headers(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n")
    line = b"x-amz-meta-filler: " + b"f" * 1000 + b"\r\n"
    while True:  # until the client hangs up (ConnectionError ends the handler)
        writer.write(line * 16)
        await writer.drain()


async def _endless_interim_answers(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
) -> None:
    await read_request(reader)
    while True:  # 100 Continue after 100 Continue: each resets the headers, not the count
        writer.write(b"HTTP/1.1 100 Continue\r\nx-filler: " + b"f" * 4000 + b"\r\n\r\n")
        await writer.drain()


def _big_head_answer(size: int) -> bytes:
    lines = size // 1024
    extra = {f"x-amz-meta-m{n}": "v" * 1000 for n in range(lines)}
    return answer(headers={"etag": '"e"', **extra})


async def _pool_request(server: RawServer) -> tuple[int, dict[str, str]]:
    pool = Pool(limit=2, connect_timeout=2.0, read_timeout=_BOUND)
    try:
        response = await pool.request(
            "HEAD", server.authority, "/b/k", {"host": server.authority}, None
        )
        response.close()
        return response.status, response.headers
    finally:
        await pool.close()


@pytest.mark.parametrize("store", [_endless_headers, _endless_interim_answers])
async def test_a_head_without_end_is_refused_at_the_limit(store: object) -> None:
    async with raw_server(store) as server:  # type: ignore[arg-type]
        with pytest.raises(TransportError, match="head is over"):
            await asyncio.wait_for(_pool_request(server), _BOUND)


async def test_the_lean_client_answers_service_unavailable_for_it() -> None:
    async with raw_server(_endless_headers) as server:
        client = LeanClient(_config(server))
        await client.start()
        try:
            with pytest.raises(BackendError) as refused, translate():
                await asyncio.wait_for(
                    client.call("head_object", not_found="NoSuchKey", Bucket="b", Key="k"),
                    _BOUND,
                )
        finally:
            await client.close()
    assert refused.value.code == "ServiceUnavailable"


async def test_a_head_under_the_limit_is_read() -> None:
    head = _big_head_answer(HEAD_MAX - 4096)

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(head)
        await writer.drain()

    async with raw_server(store) as server:
        status, headers = await _pool_request(server)
    assert status == 200
    assert headers["etag"] == '"e"'
    assert sum(name.startswith("x-amz-meta-") for name in headers) > 50


async def test_header_names_remembered_stay_bounded_and_values_keep_their_bytes() -> None:
    """The lower-cased header names are remembered across answers (a store sends the same
    dozen each time); a store that sends new names on every answer only empties the memo
    sooner. Names are read lower-cased past the memo's bound, and a value that is not
    UTF-8 keeps its bytes as surrogate escapes instead of failing the answer."""
    names = [f"X-Name-{n}" for n in range(2 * http1_response._NAMES_MAX)]
    head = b"".join(f"{name}: v{n}\r\n".encode() for n, name in enumerate(names))

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Amz-Meta-Latin: caf\xe9\r\n"
            b"x-amz-meta-utf8: caf\xc3\xa9\r\n" + head + b"\r\n"
        )
        await writer.drain()

    async with raw_server(store) as server:
        for _ in range(2):
            status, headers = await _pool_request(server)
            assert status == 200
            assert headers["x-amz-meta-latin"] == "caf\udce9"
            assert headers["x-amz-meta-utf8"] == "caf\u00e9"
            assert [headers[name.lower()] for name in names] == [f"v{n}" for n in range(len(names))]
            assert len(http1_response._names) <= http1_response._NAMES_MAX


# -- listing pages -----------------------------------------------------------------------


def _page(keys: int, key_size: int) -> bytes:
    contents = "".join(
        f"<Contents><Key>{n:0{key_size}d}</Key><Size>1</Size><ETag>&quot;e&quot;</ETag>"
        "<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>"
        for n in range(keys)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
        f"<IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
    ).encode()


async def _listing(body: bytes) -> dict[str, object]:
    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(answer(body=body, headers={"content-type": "application/xml"}))
            await writer.drain()

    async with raw_server(store) as server:
        client = LeanClient(_config(server))
        await client.start()
        try:
            with translate():
                return await asyncio.wait_for(
                    client.call("list_objects_v2", not_found="NoSuchBucket", Bucket="b"),
                    _BOUND,
                )
        finally:
            await client.close()


def _config(server: RawServer) -> UpstreamConfig:
    return UpstreamConfig(
        endpoint_url=f"http://{server.authority}",
        access_key_id="AKIDGATEWAY",
        secret_access_key="gateway-secret",
        read_timeout=_BOUND,
    )


async def test_a_listing_page_over_the_limit_is_refused() -> None:
    body = _page(1000, 1024)
    body = body + b" " * (LIST_BODY_MAX + 1 - len(body))  # XML may end in white space
    with pytest.raises(BackendError) as refused:
        await _listing(body)
    assert refused.value.code == "ServiceUnavailable"
    assert "listing page is over" in refused.value.message


async def test_the_largest_real_page_is_read() -> None:
    """1,000 keys of 1,024 characters: far under the limit, and listed whole."""
    result = await _listing(_page(1000, 1024))
    contents = result["Contents"]
    assert isinstance(contents, list)
    assert len(contents) == 1000
