"""A store that misbehaves, seen from the lean client: answers a real store should not
give (a success before the upload arrived, a listing cut short or replaced by a proxy's
page) and the error answers of a store in trouble (429, 408, Retry-After, refusals of the
gateway's signing, its internal bucket names). The end-to-end side, with the gateway
process and a real store stopped and killed, is tests/e2e/test_upstream_misbehaving.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from backends import BackendError
from backends.s3.http1 import TransportError
from backends.s3.lean import LeanClient
from backends.s3.upstream_errors import (
    GATEWAY_REFUSED,
    SLOW_DOWN_RETRY_AFTER,
    UNAVAILABLE_RETRY_AFTER,
    from_answer,
    translate,
    translate_error,
)
from tests.backends.http1_servers import RawServer, answer, raw_server, read_request
from tests.backends.test_s3_http1_failures import headers, lean_config, pool_of

MiB = 1024 * 1024


async def chunks(count: int, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"u" * size
        await asyncio.sleep(0)


async def answers_after_one_mib(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
) -> None:
    """Takes 1 MiB of an upload, answers 200 with an ETag, then waits (keeps the socket)."""
    request = await read_request(reader, body=False)
    assert request is not None
    await reader.readexactly(MiB)
    writer.write(answer(headers={"etag": '"0123456789abcdef0123456789abcdef"'}))
    await writer.drain()
    await asyncio.sleep(30)


async def _lean_put_refused(server: RawServer) -> BackendError:
    """The backend error of a 16 MiB streamed PutObject through the lean client to
    ``server``, which must refuse it."""
    client = LeanClient(lean_config(f"http://{server.authority}", read_timeout=10.0))
    await client.start()
    try:
        with pytest.raises(BackendError) as caught, translate():
            await client.call(
                "put_object",
                not_found="NoSuchBucket",
                Bucket="b",
                Key="k",
                Body=chunks(64),
                ContentLength=16 * MiB,
            )
    finally:
        await client.close()
    return caught.value


async def test_a_success_before_the_whole_body_was_sent_is_a_transport_error() -> None:
    async with raw_server(answers_after_one_mib) as server, pool_of() as pool:
        sent = headers(server, **{"content-length": str(16 * MiB)})
        with pytest.raises(TransportError, match="before the whole request body"):
            await pool.request("PUT", server.authority, "/b/k", sent, chunks(64))
        assert pool.open_connections == 0  # the connection is not kept either


async def test_an_early_error_answer_is_still_the_stores_answer() -> None:
    async def slow_down(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader, body=False)
        body = b"<Error><Code>SlowDown</Code><Message>slow</Message></Error>"
        writer.write(answer(503, body, {"retry-after": "7"}))
        await writer.drain()
        await asyncio.sleep(30)

    async with raw_server(slow_down) as server:
        caught = await _lean_put_refused(server)
    assert (caught.code, caught.extra) == ("SlowDown", {"RetryAfter": "7"})


async def test_the_lean_put_of_a_body_cut_by_an_early_success_is_service_unavailable() -> None:
    async with raw_server(answers_after_one_mib) as server:
        caught = await _lean_put_refused(server)
    assert caught.code == "ServiceUnavailable"
    assert caught.extra == {"RetryAfter": str(UNAVAILABLE_RETRY_AFTER)}


_WHOLE_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>'
    b"<Name>b</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>"
    b'<Contents><Key>a</Key><Size>1</Size><ETag>"x"</ETag>'
    b"<LastModified>2025-01-01T00:00:00.000Z</LastModified></Contents>"
)


@pytest.mark.parametrize(
    ("page", "whole"),
    [
        (_WHOLE_PAGE + b"</ListBucketResult>\n", True),
        (
            _WHOLE_PAGE.replace(b"ListBucketResult>", b"s3:ListBucketResult>")
            + b"</s3:ListBucketResult>",
            True,
        ),
        (_WHOLE_PAGE + b"<Contents><Key>b</Ke", False),  # cut short, length matching
        (_WHOLE_PAGE, False),
        (b"<html><body>Please log in to the proxy</body></html>", False),
        (b"", False),
    ],
    ids=["whole", "prefixed", "cut-in-an-entry", "cut-after-an-entry", "html", "empty"],
)
async def test_a_listing_page_that_is_not_whole_is_refused(page: bytes, whole: bool) -> None:
    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(answer(body=page))

    server: RawServer
    async with raw_server(store) as server:
        client = LeanClient(lean_config(f"http://{server.authority}", read_timeout=10.0))
        await client.start()
        try:
            with translate():
                call = client.call("list_objects_v2", not_found="NoSuchBucket", Bucket="b")
                if whole:
                    result = await call
                    assert [entry["Key"] for entry in result["Contents"]] == ["a"]
                    return
                with pytest.raises(BackendError) as caught:
                    await call
        finally:
            await client.close()
    assert caught.value.code == "ServiceUnavailable"


# -- the error table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retry_after", "expected"),
    [
        (429, "", None, ("SlowDown", str(SLOW_DOWN_RETRY_AFTER))),
        (429, "TooManyRequests", None, ("SlowDown", str(SLOW_DOWN_RETRY_AFTER))),
        (503, "SlowDown", "12", ("SlowDown", "12")),
        (503, "", None, ("ServiceUnavailable", str(UNAVAILABLE_RETRY_AFTER))),
        (503, "ServiceUnavailable", "3", ("ServiceUnavailable", "3")),
        (500, "InternalError", None, ("ServiceUnavailable", str(UNAVAILABLE_RETRY_AFTER))),
        (502, "", "Wed, 21 Oct 2015 07:28:00 GMT", ("ServiceUnavailable", "5")),
        (503, "", "99999999", ("ServiceUnavailable", "5")),  # over an hour: ours instead
        (408, "", None, ("ServiceUnavailable", str(UNAVAILABLE_RETRY_AFTER))),
        (400, "RequestTimeout", None, ("ServiceUnavailable", str(UNAVAILABLE_RETRY_AFTER))),
    ],
)
def test_a_store_in_trouble_is_503_with_retry_after(
    status: int, code: str, retry_after: str | None, expected: tuple[str, str]
) -> None:
    sent = {} if retry_after is None else {"retry-after": retry_after}
    error = from_answer(status, code, "", {}, headers=sent)
    assert (error.code, error.extra.get("RetryAfter")) == expected


def test_an_unreachable_store_is_503_with_retry_after() -> None:
    for exc in (ConnectionRefusedError(), TimeoutError(), TransportError("cut")):
        error = translate_error(exc)
        assert (error.code, error.extra) == (
            "ServiceUnavailable",
            {"RetryAfter": str(UNAVAILABLE_RETRY_AFTER)},
        )


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "RequestTimeTooSkewed", "The difference between the request time and ..."),
        (
            400,
            "AuthorizationHeaderMalformed",
            "the region 'us-east-1' is wrong; expecting 'internal-region-7'",
        ),
        (400, "ExpiredToken", "The provided token has expired."),
        (403, "AllAccessDisabled", "All access to this object has been disabled"),
    ],
)
def test_the_store_refusing_the_gateways_signing_is_not_the_clients_fault(
    status: int, code: str, message: str
) -> None:
    error = from_answer(status, code, message, {"Code": code, "Message": message})
    assert (error.code, error.message) == ("InternalError", GATEWAY_REFUSED)


@pytest.mark.parametrize(
    ("code", "prefix", "passed"),
    [
        ("NoSuchBucket", None, {}),  # a caller that names no prefix
        ("NoSuchBucket", "internal-tenant7-", {"BucketName": "photos"}),
        ("BucketNotEmpty", "internal-tenant7-", {"BucketName": "photos"}),
        ("NoSuchBucket", "internal-tenant8-", {}),  # not ours: never the store's own name
        ("NoSuchBucket", "", {"BucketName": "internal-tenant7-photos"}),  # no prefix set
        ("InvalidRequest", "internal-tenant7-", {}),
    ],
)
def test_the_upstream_bucket_name_is_passed_on_as_the_clients(
    code: str, prefix: str | None, passed: dict[str, str]
) -> None:
    """The store's BucketName is the prefixed, internal name: the client sees its own."""
    fields = {"Code": code, "BucketName": "internal-tenant7-photos", "Key": "k"}
    error = from_answer(404, code, "refused", fields, bucket_prefix=prefix)
    assert error.extra.get("BucketName") == passed.get("BucketName")
    assert "internal-tenant7-" not in str(error.extra) or prefix == ""
