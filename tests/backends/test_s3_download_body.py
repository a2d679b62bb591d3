"""DownloadBody: a proxied GET's body, ended by its declared length or by the stream."""

from __future__ import annotations

import pytest

from backends import BackendError
from backends.s3.streams import DownloadBody


class Stream:
    """The upstream body as DownloadBody reads it; counts reads and closes."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)
        self.reads = 0
        self.closed = 0

    async def read(self, amount: int) -> bytes:
        self.reads += 1
        return self.pieces.pop(0) if self.pieces else b""

    def close(self) -> None:
        self.closed += 1


async def drain(body: DownloadBody) -> bytes:
    return b"".join([chunk async for chunk in body])


async def test_a_declared_length_ends_the_body_without_another_read() -> None:
    stream = Stream(b"abcd", b"this read must never happen")
    assert await drain(DownloadBody(stream, length=4)) == b"abcd"
    assert (stream.reads, stream.closed) == (1, 1)


async def test_an_empty_body_of_declared_length_zero_reads_nothing() -> None:
    stream = Stream(b"stray")
    assert await drain(DownloadBody(stream, length=0)) == b""
    assert (stream.reads, stream.closed) == (0, 1)


async def test_without_a_length_the_body_runs_to_the_streams_end() -> None:
    stream = Stream(b"ab", b"cd")
    assert await drain(DownloadBody(stream)) == b"abcd"
    assert (stream.reads, stream.closed) == (3, 1)


async def test_a_body_that_ends_short_of_its_length_is_an_error() -> None:
    stream = Stream(b"ab")
    with pytest.raises(BackendError) as caught:
        await drain(DownloadBody(stream, length=5))
    assert caught.value.code == "ServiceUnavailable"
    assert stream.closed == 1
