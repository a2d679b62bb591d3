"""Everything under the data directory is private: 0700 directories and 0600 files,
whatever the umask the gateway was started with; looser modes found at start-up are
reported once per kind of path, never once per file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.security.data_util import modes, start_on, umask

MiB = 1024 * 1024
WARNING = "can be read or written by group or others"


def _exercise(s3: Any) -> None:
    """Writes that create every kind of file: objects (plain and encrypted), a copy,
    parts of an upload left in progress, a completed multipart object."""
    bucket = f"modes-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    # past storage.inline_max_bytes (64 KiB): a data file, not bytes in the database
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p" * 100 * 1024)
    s3.put_object(Bucket=bucket, Key="sse", Body=b"s" * 100 * 1024, ServerSideEncryption="AES256")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"})
    open_upload = s3.create_multipart_upload(Bucket=bucket, Key="open")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="open", UploadId=open_upload, PartNumber=1, Body=b"x" * 10)
    done = s3.create_multipart_upload(Bucket=bucket, Key="done")["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="done", UploadId=done, PartNumber=n, Body=body)["ETag"]
        for n, body in ((1, b"a" * 5 * MiB), (2, b"b"))
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="done",
        UploadId=done,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _loose(found: dict[Path, tuple[bool, int]]) -> list[str]:
    return [
        f"{path} {mode:04o}"
        for path, (is_dir, mode) in sorted(found.items())
        if mode != (0o700 if is_dir else 0o600)
    ]


def _log(gateway: Gateway) -> str:
    return (gateway.data_dir.parent / f"{gateway.data_dir.name}-gateway.log").read_text()


def test_every_path_is_private_under_a_permissive_umask(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    with umask(0o000):
        gateway = start_on(tmp_path / "launch", data_dir)
    try:
        _exercise(gateway.client())
        found = modes(data_dir)
        kinds = {p.relative_to(data_dir).parts[:2] for p in found if p != data_dir}
        # the walk saw the data itself, the databases and the keys, not an empty tree
        assert ("storage", "objects") in kinds and ("storage", "parts") in kinds
        names = {p.name for p in found}
        assert {"identity.db", "master.key", "meta.sqlite3", "meta.sqlite3-wal"} <= names
        assert _loose(found) == []
        assert WARNING not in _log(gateway)
    finally:
        gateway.stop()


def test_looser_existing_modes_are_reported_once_per_kind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    gateway = start_on(tmp_path / "first", data_dir)
    try:
        _exercise(gateway.client())
    finally:
        gateway.stop()
    # what an older release (or a restore from backup) may have left behind
    objects = [p for p in (data_dir / "storage" / "objects").rglob("*") if p.is_file()]
    assert len(objects) >= 4
    for path in objects:
        path.chmod(0o644)
    for path in (data_dir / "storage" / "objects").rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    (data_dir / "identity.db").chmod(0o640)
    os.chmod(data_dir, 0o755)

    gateway = start_on(tmp_path / "second", data_dir)
    try:
        # still serves: a warning, not a refusal (an operator may have meant it)
        assert gateway.client().list_buckets()["Buckets"]
        lines = [line for line in _log(gateway).splitlines() if WARNING in line]
    finally:
        gateway.stop()
    by_kind = {line.split(WARNING)[0].split(" WARNING ")[-1] for line in lines}
    assert len(lines) == len(by_kind) == 4, lines
    joined = "\n".join(lines)
    assert f"{len(objects)} object data file paths" in joined
    assert "object data directory paths" in joined
    assert "1 identity database file path " in joined
    assert "1 data directory path " in joined
    # reported, never changed behind the operator's back
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in objects)
