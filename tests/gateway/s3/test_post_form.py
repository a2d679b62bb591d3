"""The streaming multipart/form-data reader of POST Object: the same answer however the
body is cut into network chunks, bounded memory before and during the file, and S3's
errors for malformed forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.s3.errors import S3Error
from gateway.s3.post_form import MAX_PART_HEADERS, FormReader, boundary_of

BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def part(name: str, value: bytes, extra: str = "") -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'
    return head.encode() + value + b"\r\n"


def body(
    fields: list[tuple[str, str]], content: bytes, *, after: bytes = b"", preamble: bytes = b""
) -> bytes:
    parts = [preamble] + [part(n, v.encode()) for n, v in fields]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a b.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + after + f"--{BOUNDARY}--\r\n".encode()


def chunked(data: bytes, size: int) -> Callable[[], Awaitable[bytes]]:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]

    async def read() -> bytes:
        return pieces.pop(0) if pieces else b""

    return read


async def read_all(
    data: bytes, size: int, *, limit: int = 20 * 1024
) -> tuple[dict[str, str], str, bytes, int]:
    reader = FormReader(chunked(data, size), BOUNDARY, limit=limit)
    fields, header = await reader.read_fields()
    out = bytearray()
    largest = 0
    async for piece in reader.file_chunks():
        largest = max(largest, len(piece))
        out += piece
    return fields, header.filename, bytes(out), largest


# The file holds near-misses of the delimiter, CRs and LFs: only the real one ends it.
TRICKY = b"line\r\n--" + BOUNDARY[:-1].encode() + b"x\r\n\r\n--\r\n\r" + bytes(range(256)) * 3


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100, 4096])
async def test_any_chunking_gives_the_same_form(size: int) -> None:
    fields = [("key", "uploads/${filename}"), ("Policy", "eyJ..."), ("x-amz-meta-a", "é")]
    data = body(fields, TRICKY, preamble=b"ignored preamble\r\n")
    got, filename, content, largest = await read_all(data, size)
    assert got == {"key": "uploads/${filename}", "policy": "eyJ...", "x-amz-meta-a": "é"}
    assert filename == "a b.txt"
    assert content == TRICKY
    assert largest <= max(size, 64) + len(BOUNDARY) + 4


async def test_empty_file_and_fields_after_it_are_not_read() -> None:
    data = body([("key", "k")], b"", after=part("x-amz-meta-late", b"1"))
    fields, _, content, _ = await read_all(data, 10)
    assert fields == {"key": "k"}
    assert content == b""


async def test_file_is_never_held_whole() -> None:
    content = bytes(range(256)) * 4096  # 1 MiB
    _, _, got, largest = await read_all(body([("key", "k")], content), 16 * 1024)
    assert got == content
    assert largest <= 16 * 1024 + len(BOUNDARY) + 4


async def test_fields_beyond_the_budget() -> None:
    data = body([("key", "k"), ("x-amz-meta-big", "v" * 30_000)], b"x")
    with pytest.raises(S3Error) as caught:
        await read_all(data, 1024)
    assert caught.value.code == "MaxPostPreDataLengthExceededError"
    with pytest.raises(S3Error) as caught:
        await read_all(body([], b"x", preamble=b"p" * 30_000 + b"\r\n"), 1024)
    assert caught.value.code == "MaxPostPreDataLengthExceededError"


async def test_endless_part_headers_are_cut_off() -> None:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n'.encode()
    data = head + b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" * 1000
    with pytest.raises(S3Error) as caught:
        await read_all(data, 512, limit=1024 * 1024)
    assert caught.value.code == "MalformedPOSTRequest"
    assert len(data) > MAX_PART_HEADERS


async def test_duplicate_field_is_refused() -> None:
    with pytest.raises(S3Error) as caught:
        await read_all(body([("key", "a"), ("KEY", "b")], b"x"), 50)
    assert caught.value.code == "InvalidArgument"


async def test_no_file_part() -> None:
    data = part("key", b"k") + f"--{BOUNDARY}--\r\n".encode()
    with pytest.raises(S3Error) as caught:
        await read_all(data, 50)
    assert caught.value.code == "IncorrectNumberOfFilesInPostRequest"


async def test_body_cut_inside_the_file() -> None:
    data = body([("key", "k")], b"0123456789" * 100)
    cut = data[: data.rfind(b"0123")]
    with pytest.raises(S3Error) as caught:
        await read_all(cut, 64)
    assert caught.value.code == "IncompleteBody"


@pytest.mark.parametrize(
    "data",
    [
        b"no boundary anywhere",
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nvalue\r\n".encode(),  # no disposition
        f'--{BOUNDARY}\r\nContent-Disposition: attachment; name="k"\r\n\r\nv\r\n'.encode(),
        f"--{BOUNDARY}\r\nno colon here\r\n\r\nv\r\n".encode(),
        f"--{BOUNDARY}junk\r\n".encode(),
        part("key", b"unterminated")[:-2],
    ],
)
async def test_malformed_framing(data: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        await read_all(data, 16)
    assert caught.value.code == "MalformedPOSTRequest"


async def test_field_values_must_be_utf8() -> None:
    data = part("key", b"\xff\xfe") + body([], b"x")
    with pytest.raises(S3Error) as caught:
        await read_all(data, 64)
    assert caught.value.code == "InvalidArgument"


def test_boundary_of() -> None:
    assert boundary_of(f"multipart/form-data; boundary={BOUNDARY}") == BOUNDARY
    assert boundary_of('multipart/form-data; boundary="a b"') == "a b"
    for value in (None, "application/x-www-form-urlencoded", "multipart/mixed; boundary=x"):
        with pytest.raises(S3Error) as caught:
            boundary_of(value)
        assert (caught.value.code, caught.value.status) == ("PreconditionFailed", 412)
    for bad in ("multipart/form-data", "multipart/form-data; boundary=" + "x" * 71):
        with pytest.raises(S3Error) as caught:
            boundary_of(bad)
        assert caught.value.code == "MalformedPOSTRequest"
