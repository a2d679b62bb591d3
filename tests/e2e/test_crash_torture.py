"""Crash torture of the filesystem backend: ``--workers 2`` with fsync on, a random mix of
writes from several clients, the whole gateway killed with SIGKILL (every process, the
OOM killer's way) at a moment the test does not choose, then started again; after each
start the backend's promises are checked:

- every key reads whole: each body carries a header line with its payload's length and
  SHA-256, so a torn or mixed body is seen;
- a key only one client writes holds what its last acknowledged write left, or what its
  write in flight at the kill would have left (nothing else, nothing older);
- the listing agrees with GET and HEAD; each key's versions have one latest, which is
  what GET reads (or a delete marker for a key GET does not find); every version reads whole;
- after start-up recovery no temp file and no data or part file that no row names is
  left, and no row names a file that is gone; the bucket counters match the rows;
- no 5xx, and nothing in the log that a failure would write there.

A PUT is held streaming (half its body sent) at every kill, and a multipart upload left
open. Seeded: the operations are the same on every run; only where in them the kill lands
varies (the invariants hold wherever it lands). The scratch version of this ran several
hundred kills (report of the crash torture, docs/filesystem-backend.md, "Crash torture").
"""

from __future__ import annotations

import hashlib
import http.client
import random
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway, wait_until

KIB = 1024
PART = 64 * KIB
ITERATIONS = 3
CLIENTS = 3
OPS_BEFORE_KILL = 6
"""Operations each client has finished when the kill comes (it keeps going meanwhile)."""
PLAIN, VERS = "torture-plain", "torture-vers"
SHARED = [f"shared-{i}" for i in range(4)]
ANY = "*"
"""A key's expected body after a CopyObject: whichever whole body its source held."""


def make_body(tag: str, size: int) -> bytes:
    payload = random.Random(tag).randbytes(size)
    return f"{size}:{hashlib.sha256(payload).hexdigest()}:{tag}\n".encode() + payload


def body_tag(data: bytes) -> str:
    """The tag of a whole body; AssertionError for a torn or mixed one."""
    head, newline, payload = data.partition(b"\n")
    assert newline, f"no header line in {data[:60]!r}"
    size, digest, tag = head.decode().split(":", 2)
    assert len(payload) == int(size), f"{tag}: {len(payload)} bytes of {size}"
    assert hashlib.sha256(payload).hexdigest() == digest, f"{tag}: bytes differ"
    return tag


@dataclass
class Owned:
    """A key of the never-versioned bucket that one client alone writes: the tag its last
    acknowledged write left (None: absent; ``ANY``: a copy), and what the write in flight
    at the kill may have left instead."""

    done: str | None = None
    inflight: list[str | None] = field(default_factory=list)

    def allowed(self) -> list[str | None]:
        return [self.done, *self.inflight]


@dataclass
class Run:
    gw: Gateway
    owned: list[dict[str, Owned]]
    stop: threading.Event = field(default_factory=threading.Event)
    killing: threading.Event = field(default_factory=threading.Event)
    finished: list[int] = field(default_factory=lambda: [0] * CLIENTS)
    errors: list[str] = field(default_factory=list)


def _client_loop(run: Run, cid: int, seed: int) -> None:
    rng = random.Random(seed)
    s3 = run.gw.client(connect_timeout=5, read_timeout=30)
    mine = sorted(run.owned[cid])
    n = 0
    while not run.stop.is_set():
        n += 1
        op = rng.choices(["put", "mpu", "copy", "delete", "deletes", "versioning", "vdelete"],
                         [45, 10, 12, 10, 6, 3, 8])[0]  # fmt: skip
        bucket = rng.choice([PLAIN, VERS])
        key = rng.choice(mine) if rng.random() < 0.6 else rng.choice(SHARED)
        state = run.owned[cid].get(key) if bucket == PLAIN else None
        tag = f"c{cid}-s{seed}-n{n}"
        try:
            _one_op(s3, rng, op, bucket, key, state, tag, mine, run.owned[cid])
        except ClientError as exc:
            status = exc.response["ResponseMetadata"].get("HTTPStatusCode", 0)
            if status >= 500:
                run.errors.append(f"{op} {bucket}/{key}: {status} {exc.response['Error']}")
            if state is not None:
                state.inflight = []  # refused: nothing changed
        except AssertionError as exc:
            run.errors.append(f"{op} {bucket}/{key}: {exc}")
        except Exception as exc:  # the connection died with the gateway
            if not run.killing.is_set():
                run.errors.append(f"{op} {bucket}/{key}: {exc!r}")
            return
        run.finished[cid] += 1


def _one_op(
    s3: Any,
    rng: random.Random,
    op: str,
    bucket: str,
    key: str,
    state: Owned | None,
    tag: str,
    mine: list[str],
    owned: dict[str, Owned],
) -> None:
    if op == "put":
        size = rng.choice([rng.randint(0, 2000), rng.randint(60 * KIB, 70 * KIB),
                           rng.randint(100 * KIB, 700 * KIB)])  # fmt: skip
        _acked(state, tag, lambda: s3.put_object(Bucket=bucket, Key=key, Body=make_body(tag, size)))
    elif op == "mpu":
        body = make_body(tag, rng.randint(PART + 1, 3 * PART))
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        parts = []
        for number, start in enumerate(range(0, len(body), PART), 1):
            piece = body[start : start + PART]
            etag = s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=piece
            )["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})
        done = {"Parts": parts}
        _acked(state, tag, lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=done))  # fmt: skip
    elif op == "copy":
        source = {"Bucket": bucket, "Key": rng.choice(mine + SHARED)}
        try:
            _acked(state, ANY, lambda: s3.copy_object(Bucket=bucket, Key=key, CopySource=source))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchKey":
                raise
    elif op == "delete":
        _acked(state, None, lambda: s3.delete_object(Bucket=bucket, Key=key))
    elif op == "deletes":
        keys = rng.sample(mine, 3)
        states = [owned[k] for k in keys] if bucket == PLAIN else []
        for each in states:
            each.inflight = [None]
        listed = {"Objects": [{"Key": k} for k in keys]}
        errors = s3.delete_objects(Bucket=bucket, Delete=listed).get("Errors")
        assert not errors, errors
        for each in states:
            each.done, each.inflight = None, []
    elif op == "versioning":
        status = rng.choice(["Enabled", "Suspended"])
        s3.put_bucket_versioning(Bucket=VERS, VersioningConfiguration={"Status": status})
    else:  # a version's delete
        versions = s3.list_object_versions(Bucket=VERS, Prefix=key).get("Versions", [])
        versions = [v for v in versions if v["Key"] == key]
        if versions:
            version = rng.choice(versions)["VersionId"]
            s3.delete_object(Bucket=VERS, Key=key, VersionId=version)


def _acked(state: Owned | None, result: str | None, call: Callable[[], object]) -> None:
    if state is None:
        call()
        return
    # a copy in flight may also have left the key as it was (the source read first)
    state.inflight = [result] if result != ANY else [ANY, state.done]
    call()
    state.done, state.inflight = result, []


def _stream_half(gw: Gateway, key: str, body: bytes) -> http.client.HTTPConnection:
    """A PUT of ``body`` whose first half is sent; the rest never is."""
    url = gw.client().generate_presigned_url(
        "put_object", Params={"Bucket": PLAIN, "Key": key}, ExpiresIn=300
    )
    conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=30)
    conn.putrequest("PUT", url.split(str(gw.s3_port), 1)[1], skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[: len(body) // 2])
    return conn


def _kill_all(gw: Gateway) -> None:
    """SIGKILL the workers (their parent held, so it starts none in their place), then
    the parent."""
    parent = psutil.Process(gw.pid())
    parent.suspend()
    workers = parent.children()
    for worker in workers:
        worker.kill()
    parent.kill()
    gw.process.wait()
    psutil.wait_procs(workers, timeout=10)


def _check_files(storage: Path) -> None:
    db = sqlite3.connect(f"file:{storage / 'meta' / 'meta.sqlite3'}?mode=ro", uri=True)
    try:
        named = {r[0] for r in db.execute("SELECT data_id FROM objects")}
        named |= {r[0] for r in db.execute("SELECT data_id FROM versions WHERE data_id NOT NULL")}
        parts = {r[0] for r in db.execute("SELECT data_id FROM parts")}
        uploads = {r[0] for r in db.execute("SELECT upload_id FROM uploads")}
        inline = {r[0] for r in db.execute("SELECT data_id FROM inline_data")}
        counted = set(db.execute("SELECT * FROM bucket_stats WHERE objects > 0"))
        real = set(db.execute("SELECT bucket, count(*), sum(size) FROM objects GROUP BY bucket"))
    finally:
        db.close()
    files = {p.name for p in (storage / "objects").rglob("*") if p.is_file()}
    assert files - named == set(), "data files no row names"
    assert named - files - inline == set(), "rows naming data files that are gone"
    part_files = {p.name for p in (storage / "parts").rglob("*") if p.is_file()}
    assert part_files == parts, "part files and part rows differ"
    assert {d.name for d in (storage / "parts").iterdir()} <= uploads
    assert [p for p in (storage / "tmp").rglob("*") if p.is_file()] == []
    assert counted == real, "bucket_stats"


def _check_objects(gw: Gateway, owned: dict[str, Owned]) -> None:
    s3 = gw.client(read_timeout=60)
    for bucket in (PLAIN, VERS):
        listed = {
            o["Key"]: o
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }
        for key, entry in listed.items():
            got = s3.get_object(Bucket=bucket, Key=key)
            data = got["Body"].read()
            tag = body_tag(data)
            assert (len(data), got["ETag"]) == (entry["Size"], entry["ETag"]), key
            if bucket == PLAIN and key in owned:
                allowed = owned[key].allowed()
                assert tag in allowed or ANY in allowed, (key, tag, allowed)
                owned[key].done, owned[key].inflight = tag, []
        for key, state in owned.items():
            if bucket == PLAIN and key not in listed:
                assert None in state.allowed(), (key, state.allowed())
                try:
                    s3.head_object(Bucket=bucket, Key=key)
                except ClientError as exc:
                    assert exc.response["Error"]["Code"] == "404", key
                else:
                    raise AssertionError(f"{key}: not listed, but HEAD finds it")
                state.done, state.inflight = None, []
    _check_versions(s3, listed)


def _check_versions(s3: Any, listed: dict[str, Any]) -> None:
    """``VERS``'s versions (``listed``: its current objects)."""
    versions: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=VERS):
        for v in page.get("Versions", []):
            versions.setdefault(v["Key"], []).append({**v, "marker": False})
        for v in page.get("DeleteMarkers", []):
            versions.setdefault(v["Key"], []).append({**v, "marker": True})
    assert set(listed) <= set(versions)
    for key, each in versions.items():
        latest = [v for v in each if v["IsLatest"]]
        assert len(latest) == 1, (key, latest)
        ids = [v["VersionId"] for v in each]
        assert len(set(ids)) == len(ids), (key, ids)
        assert latest[0]["marker"] != (key in listed), key
        if key in listed:
            assert latest[0]["ETag"] == listed[key]["ETag"], key
        for v in each:
            if not v["marker"]:
                got = s3.get_object(Bucket=VERS, Key=key, VersionId=v["VersionId"])
                assert len(body_tag_of(got)) == v["Size"], (key, v["VersionId"])


def body_tag_of(got: dict[str, Any]) -> bytes:
    data: bytes = got["Body"].read()
    body_tag(data)
    return data


_FAILURE = re.compile(r"status=5\d\d|Traceback| ERROR | CRITICAL ")


def test_killed_whole_gateways_leave_whole_objects_and_no_files_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"NFYIO_FSYNC": "true", "NFYIO_S3_MIN_PART_SIZE": str(PART)}
    owned = [{f"own-{c}-{i}": Owned() for i in range(4)} for c in range(CLIENTS)]
    everyone = {key: state for each in owned for key, state in each.items()}
    streamed = Owned()
    for iteration in range(ITERATIONS + 1):
        gw = start_gateway(data, extra_env=env, extra_args=["--workers", "2"])
        try:
            if iteration == 0:
                s3 = gw.client()
                for bucket in (PLAIN, VERS):
                    s3.create_bucket(Bucket=bucket)
                s3.put_bucket_versioning(Bucket=VERS, VersioningConfiguration={"Status": "Enabled"})
            _check_files(gw.data_dir / "storage")
            _check_objects(gw, {**everyone, "streamed": streamed})
            assert not [line for line in gw.log().splitlines() if _FAILURE.search(line)]
            if iteration < ITERATIONS:
                _run_and_kill(Run(gw, owned), iteration, streamed)
        finally:
            gw.stop()  # the last start; or a failed iteration's


def _run_and_kill(run: Run, iteration: int, streamed: Owned) -> None:
    """Clients at work, a PUT half received, an upload open: then every process killed."""
    gw = run.gw
    old = f"streamed-{iteration}"
    gw.client().put_object(Bucket=PLAIN, Key="streamed", Body=make_body(old, 5000))
    streamed.done = old
    conn = _stream_half(gw, "streamed", make_body(f"never-{iteration}", 3 * 1024 * KIB))
    wait_until(gw.temp_files, "the streaming PUT's temp file")
    gw.client().create_multipart_upload(Bucket=PLAIN, Key="left-open")
    threads = [
        threading.Thread(target=_client_loop, args=(run, c, iteration * 100 + c))
        for c in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: min(run.finished) >= OPS_BEFORE_KILL or run.errors, "the clients")
    run.killing.set()
    _kill_all(gw)
    run.stop.set()
    for thread in threads:
        thread.join()
    conn.close()
    assert run.errors == []
