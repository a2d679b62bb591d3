"""Helpers shared by the filesystem backend tests (bodies, fixtures' building blocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping

from backends.types import ObjectRead


class Body:
    """A ``PayloadStream`` over chunks; optionally raises after ``fail_after`` chunks."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        checksums: Mapping[str, str] | None = None,
        fail_after: int | None = None,
    ) -> None:
        self._chunks = chunks
        self._checksums = dict(checksums or {})
        self._fail_after = fail_after

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self._chunks):
            if self._fail_after is not None and i >= self._fail_after:
                raise RuntimeError("client went away")
            yield chunk

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._checksums


def body(data: bytes, chunk: int = 65536, **kwargs: object) -> Body:
    return Body([data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""], **kwargs)  # type: ignore[arg-type]


async def read_all(read: ObjectRead) -> bytes:
    out = bytearray()
    async for chunk in read.body:
        out += chunk
    return bytes(out)
