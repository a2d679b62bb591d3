"""The load generator of ``make bench``: worker processes that sign like the SDKs.

Each worker process runs one asyncio loop with an aiohttp session and takes jobs from a
pipe. Every request is signed with SigV4 header auth as botocore signs it over plain
HTTP, payload hash included (``sigv4.outgoing``; the hash of a body is computed once per
body, as a client that uploads the same bytes would cache it - the server still hashes
every byte it receives). Request loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yarl

from sigv4.outgoing import encode_path, encode_query, sign_headers
from sigv4.signing import EMPTY_SHA256

__all__ = ["Job", "LoadGenerator", "Outcome", "Peer"]

BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Peer:
    """An S3 endpoint and the credentials to sign for it. ``more_endpoints``: further
    hosts serving the same store (several gateways); each request loop of a job keeps to
    one endpoint, the loops spread over all of them in turn, as a load balancer spreads
    connections."""

    name: str
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    more_endpoints: tuple[str, ...] = ()

    @property
    def endpoints(self) -> tuple[str, ...]:
        return (self.endpoint, *self.more_endpoints)


@dataclass(frozen=True)
class Job:
    """``count`` requests of ``op`` (put, get, head, list, versions, fill) against
    ``peer``'s ``bucket``.

    Keys are ``{prefix}{i}`` (GET/HEAD read ``i % keys``); ``fill`` PUTs the keys named by
    ``list_key``, and list pages (``list``: ListObjectsV2, ``versions``:
    ListObjectVersions, 1,000 entries) start after a random one of ``keys`` such keys.
    """

    peer: Peer
    op: str
    bucket: str
    count: int
    concurrency: int
    size: int = 0
    prefix: str = "k"
    keys: int = 1
    seconds: float = 30.0
    start_at: float = 0.0
    offset: int = 0
    stride: int = 1


@dataclass
class Outcome:
    done: int = 0
    errors: int = 0
    bytes: int = 0
    first_error: str = ""
    started: float = 0.0
    ended: float = 0.0
    prefix: int = 0
    """Keys 0 .. prefix-1 were all written (a time cap can stop a PUT job early)."""


def list_key(i: int) -> str:
    return f"dir{i % 10}/key-{i:06d}"


def sorted_list_key(position: int, keys: int) -> int:
    """The ``i`` of the ``list_key`` at ``position`` in key order, of ``keys`` keys (a
    multiple of 10): ``dir0`` holds the first tenth, and so on."""
    per_dir = keys // 10
    return (position % per_dir) * 10 + position // per_dir


def _body(size: int) -> tuple[Callable[[], Any], str]:
    """(body factory, hex SHA-256): bytes up to 1 MiB, else a stream of 1 MiB blocks."""
    rng = random.Random(size)
    if size <= BLOCK:
        data = rng.randbytes(size)
        return (lambda: data), hashlib.sha256(data).hexdigest()
    block = rng.randbytes(BLOCK)
    count, rest = divmod(size, BLOCK)
    assert rest == 0, "large bodies are whole MiB"
    digest = hashlib.sha256()
    for _ in range(count):
        digest.update(block)

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield block

    return stream, digest.hexdigest()


class _Signer:
    def __init__(self, peer: Peer, endpoint: str) -> None:
        self.peer = peer
        parts = urlsplit(endpoint)
        self.scheme, self.host = parts.scheme, parts.netloc

    def request(
        self,
        method: str,
        bucket: str,
        key: str | None,
        query: list[tuple[str, str]],
        payload_hash: str,
        extra: dict[str, str] | None = None,
    ) -> tuple[yarl.URL, dict[str, str]]:
        path = encode_path(bucket) if key is None else encode_path(bucket, key)
        raw_query = encode_query(query)
        headers = {"host": self.host, **(extra or {})}
        headers.update(
            sign_headers(
                method,
                path,
                raw_query,
                headers,
                payload_hash,
                access_key_id=self.peer.access_key,
                secret_access_key=self.peer.secret_key,
                region=self.peer.region,
                now=datetime.now(UTC),
            )
        )
        url = yarl.URL.build(
            scheme=self.scheme, authority=self.host, path=path, query_string=raw_query, encoded=True
        )
        return url, headers


async def _run(job: Job) -> Outcome:
    signers = [_Signer(job.peer, endpoint) for endpoint in job.peer.endpoints]
    outcome = Outcome()
    body, body_hash = _body(job.size) if job.op in ("put", "fill") else (None, EMPTY_SHA256)
    rng = random.Random(os.getpid())
    numbers = iter(range(job.offset, job.offset + job.count * job.stride, job.stride))

    async def one(session: aiohttp.ClientSession, signer: _Signer, i: int) -> int:
        if job.op in ("put", "fill"):
            assert body is not None
            key = list_key(i) if job.op == "fill" else f"{job.prefix}{i}"
            url, headers = signer.request(
                "PUT", job.bucket, key, [], body_hash, {"content-length": str(job.size)}
            )
            async with session.put(url, data=body(), headers=headers) as r:
                await r.read()
                return r.status if r.status != 200 else 0
        if job.op in ("get", "head"):
            method = job.op.upper()
            url, headers = signer.request(
                method, job.bucket, f"{job.prefix}{i % job.keys}", [], EMPTY_SHA256
            )
            async with session.request(method, url, headers=headers) as r:
                async for chunk in r.content.iter_chunked(BLOCK):
                    outcome.bytes += len(chunk)
                return r.status if r.status != 200 else 0
        if job.op == "versions":
            # after a random key, at least ten keys before the end in key order
            start = list_key(sorted_list_key(rng.randrange(max(job.keys - 10, 1)), job.keys))
            query = [("key-marker", start), ("max-keys", "1000"), ("versions", "")]
        else:
            start = list_key(rng.randrange(job.keys - 1000)) if job.keys > 1000 else ""
            query = [("list-type", "2"), ("max-keys", "1000"), ("start-after", start)]
        url, headers = signer.request("GET", job.bucket, None, query, EMPTY_SHA256)
        async with session.get(url, headers=headers) as r:
            await r.read()
            return r.status if r.status != 200 else 0

    async def worker(session: aiohttp.ClientSession, signer: _Signer, deadline: float) -> None:
        for i in numbers:
            if time.monotonic() > deadline:
                return
            try:
                status = await one(session, signer, i)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, detail = -1, repr(exc)
            else:
                detail = f"HTTP {status}"
            if status:
                outcome.errors += 1
                outcome.first_error = outcome.first_error or detail
            else:
                outcome.done += 1
                if job.op == "put":
                    outcome.bytes += job.size

    connector = aiohttp.TCPConnector(limit=job.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    ) as session:
        delay = job.start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        outcome.started = time.time()
        deadline = time.monotonic() + job.seconds
        await asyncio.gather(
            *(
                worker(session, signers[(job.offset + n) % len(signers)], deadline)
                for n in range(job.concurrency)
            )
        )
        outcome.ended = time.time()
    return outcome


def _serve(conn: Connection) -> None:
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(asyncio.run(_run(job)))
        except Exception as exc:  # reported to the parent, never a silent hang
            conn.send(Outcome(errors=1, first_error=repr(exc)))


class LoadGenerator:
    """``processes`` worker processes; ``run`` splits a job between them."""

    def __init__(self, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child,), daemon=True)
            proc.start()
            self._conns.append(parent)
            self._procs.append(proc)

    def run(self, job: Job) -> Outcome:
        """Run ``job`` split across the processes, all starting at the same moment."""
        n = len(self._conns)
        start_at = time.time() + 0.3
        share, extra = divmod(job.count, n)
        for index, conn in enumerate(self._conns):
            # process i takes numbers i, i + n, i + 2n ...: each runs a prefix of its own
            # numbers, so n * (fewest done) numbers from 0 are all done
            conn.send(
                Job(
                    **{
                        **job.__dict__,
                        "count": share + (1 if index < extra else 0),
                        "concurrency": max(1, job.concurrency // n),
                        "start_at": start_at,
                        "offset": index,
                        "stride": n,
                    }
                )
            )
        outcomes: list[Outcome] = [conn.recv() for conn in self._conns]
        started = [o.started for o in outcomes if o.started]
        total = Outcome(
            started=min(started) if started else start_at,
            ended=max(o.ended for o in outcomes),
        )
        total.prefix = 0 if any(o.errors for o in outcomes) else n * min(o.done for o in outcomes)
        for o in outcomes:
            total.done += o.done
            total.errors += o.errors
            total.bytes += o.bytes
            total.first_error = total.first_error or o.first_error
        return total

    @property
    def pids(self) -> list[int]:
        """The worker processes (their CPU time is the load generator's cost)."""
        return [proc.pid for proc in self._procs]

    def close(self) -> None:
        for conn in self._conns:
            conn.send(None)
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
