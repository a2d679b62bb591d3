"""Instructions per call of each piece of a proxied HEAD's own work (issue 17, section 1).

Each piece runs ``N`` times in a child ``python`` under ``valgrind --tool=callgrind``;
the same child run with ``N = 0`` is subtracted, so imports and set-up cancel out, and the
difference divided by ``N`` is the piece's instructions per call (steady to about 1 %).
No store and no network: the upstream answer is a canned copy of what SeaweedFS 4.x
sends to a HEAD of a 4 KiB object, and ``backend`` is ``S3Backend.head_object`` through
the lean client with a pool that hands that answer back at once (no socket, no event-loop
turn: add about 34k instructions for the two turns a real answer takes). ``info`` is
``meta.object_info``, the HEAD's answer read into an ``ObjectInfo``; ``object_fields`` is
what a PUT's answer becomes.

valgrind's virtual CPU has no SHA extensions: OpenSSL hashes with its generic code there,
so ``sign`` weighs more here than in native time (docs/performance.md, sixteenth sitting).

Run: ``python -m tests.perf.upstream_pieces [piece ...]`` (all by default). Environment:
``BENCH_CALLS`` (``N``, 3,000). Needs ``valgrind``. Nothing asserts.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from backends.s3.backend import S3Backend
from backends.s3.config import UpstreamConfig
from backends.s3.http1 import head_bytes
from backends.s3.http1_response import Response
from backends.s3.meta import object_info
from backends.s3.signer import LeanSigner
from backends.s3.wire import object_fields
from sigv4.signing import EMPTY_SHA256

ANSWER = (
    b"HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: 4096\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b'Etag: "20439f79e4e9dc95be34b21029221f80"\r\n'
    b"Last-Modified: Thu, 03 Dec 2026 17:09:08 GMT\r\n"
    b"Seaweed-X-Amz-ETag: 20439f79e4e9dc95be34b21029221f80\r\n"
    b"Seaweed-X-Amz-Owner: nfyio-tests\r\nServer: SeaweedFS 8000GB 4.48\r\nVary: Origin\r\n"
    b"X-Amz-Request-Id: 18EDCD7994348C98B7FF8E03\r\n"
    b"Date: Thu, 03 Dec 2026 17:09:08 GMT\r\n\r\n"
)
_HOST = "127.0.0.1:8333"
_SIGNED = {"host": _HOST}


class _Connection:
    """What a ``Response`` asks of its connection, doing nothing."""

    read_paused = False
    request_cut = False
    loop = None  # never waited on: the answer is fed before anyone reads it

    def pause_reading(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def done(self, *, reusable: bool) -> None:
        pass


class _Pool:
    """The lean client's pool, answering every request with ``ANSWER`` at once."""

    async def request(
        self, method: str, authority: str, target: str, headers: Mapping[str, str], body: Any
    ) -> Response:
        head_bytes(method, target, headers)
        response = Response(_Connection(), head_only=method == "HEAD")  # type: ignore[arg-type]
        response.feed(ANSWER)
        return response

    async def close(self) -> None:
        pass


def _parsed() -> Response:
    response = Response(_Connection(), head_only=True)  # type: ignore[arg-type]
    response.feed(ANSWER)
    return response


def _backend_loop(calls: int) -> None:
    async def run() -> None:
        backend = S3Backend(
            UpstreamConfig(
                endpoint_url=f"http://{_HOST}",
                access_key_id="AKIDPIECES",
                secret_access_key="pieces-secret",
                bucket_prefix="gw-",
            )
        )
        await backend.start()
        lean = backend._lean
        assert lean is not None, "the lean client applies to the default settings"
        lean._pool = _Pool()  # type: ignore[assignment]
        try:
            for _ in range(calls):
                await backend.head_object("bucket", "key")
        finally:
            await backend.close()

    asyncio.run(run())


def _pieces() -> dict[str, Callable[[int], None]]:
    signer = LeanSigner("AKIDPIECES", "pieces-secret", "us-east-1")
    signed = signer.headers("HEAD", "/gw-bucket/key", "", _SIGNED, EMPTY_SHA256, time.time())
    head = {**_SIGNED, **signed}
    headers = _parsed().headers

    def sign(calls: int) -> None:
        for _ in range(calls):
            signer.headers("HEAD", "/gw-bucket/key", "", _SIGNED, EMPTY_SHA256, time.time())

    def parse(calls: int) -> None:
        for _ in range(calls):
            _parsed()

    def fields_of(calls: int) -> None:
        for _ in range(calls):
            object_fields(200, headers)

    def info(calls: int) -> None:
        for _ in range(calls):
            object_info("bucket", "key", headers, 4096)

    def request_head(calls: int) -> None:
        for _ in range(calls):
            head_bytes("HEAD", "/gw-bucket/key", head)

    return {
        "sign": sign,
        "parse": parse,
        "object_fields": fields_of,
        "info": info,
        "head_bytes": request_head,
        "backend": _backend_loop,
    }


def _instructions(piece: str, calls: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "tests.perf.upstream_pieces",
        "--child",
        piece,
        str(calls),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _pieces()[argv[1]](int(argv[2]))
        return
    calls = int(os.environ.get("BENCH_CALLS", "3000"))
    names = argv or list(_pieces())
    print(f"{'piece':<14} instructions per call ({calls:,} calls)")
    for name in names:
        per_call = (_instructions(name, calls) - _instructions(name, 0)) / calls
        print(f"{name:<14} {per_call:>12,.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
