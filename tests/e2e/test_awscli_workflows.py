"""Everyday ``aws s3`` workflows as users run them, unchanged: aws CLI v2 (Debian's
``awscli`` package, ``make awscli2``), and v1 (the venv's: botocore's current defaults)
where it names a checksum algorithm; on the filesystem backend.

What ``test_awscli.py`` (v1) leaves out: with v2, a recursive copy of many small files
beside one multipart file, ``sync`` both ways with ``--delete`` and
``--exact-timestamps``, ``mv --recursive`` between buckets, SigV4 presigned URLs (v2's
default), ``rb --force`` of a versioned bucket; with v1, uploads that name a checksum
algorithm (``--checksum-algorithm``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import urlopen
from tests.e2e.test_awscli import AwsCli, cli_of_version

MiB = 1024 * 1024
SMALL = 30
"""Small files in the recursive copy: the CLI sends them side by side (10 at a time)."""


def _bucket(cli: AwsCli) -> str:
    name = f"clw-{uuid.uuid4().hex[:16]}"
    cli("s3", "mb", f"s3://{name}")
    return name


def _tree(root: Path) -> dict[str, bytes]:
    """SMALL small files, a few under names that need encoding, and one 9 MiB file (over
    the CLI's 8 MiB threshold: a multipart upload of two parts), dated a minute back (S3
    keeps LastModified to the second: a file of the same second would look newer)."""
    files = {f"small/{i:03}.txt": f"file {i}\n".encode() for i in range(SMALL)}
    files["odd/sp ace+plus%20.txt"] = b"a space, a plus and a percent\n"
    files["odd/\u00fcnic\u00f8de \u2603.txt"] = b"non-ASCII\n"
    files["big.bin"] = os.urandom(9 * MiB)
    past = time.time() - 60
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        os.utime(path, (past, past))
    return files


def _read(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _actions(output: str) -> list[str]:
    """The CLI's ``upload:``/``download:``/``delete:``/``copy:`` lines, each as its verb and
    its last path (the progress meter shares lines with them, padded with spaces)."""
    lines = (line.strip() for line in output.replace("\r", "\n").splitlines())
    return sorted(
        line.split(":", 1)[0] + " " + line.rsplit("/", 1)[-1]
        for line in lines
        if line.startswith(("upload:", "download:", "delete:", "copy:", "move:"))
    )


def test_v2_recursive_copy_and_sync_both_ways_with_delete(gateway: Gateway, tmp_path: Path) -> None:
    """v2 (v1's sync: ``test_awscli.py``; the same workflow in front of moto passes too,
    at twice the time: the filesystem backend only)."""
    cli = cli_of_version(gateway, tmp_path, "v2")
    bucket = _bucket(cli)
    files = _tree(tmp_path / "src")
    out = cli("s3", "cp", "--recursive", str(tmp_path / "src"), f"s3://{bucket}/tree").stdout
    assert out.count("upload:") == len(files), out
    s3 = gateway.client()
    head = s3.head_object(Bucket=bucket, Key="tree/big.bin")
    assert head["ETag"].endswith('-2"') and head["ContentLength"] == 9 * MiB, head

    # down into an empty folder, then nothing more either way (sizes and times agree)
    dst = tmp_path / "dst"
    out = cli("s3", "sync", f"s3://{bucket}/tree", str(dst)).stdout
    assert out.count("download:") == len(files), out
    assert _read(dst) == files
    assert cli("s3", "sync", str(tmp_path / "src"), f"s3://{bucket}/tree").stdout == ""
    again = cli("s3", "sync", f"s3://{bucket}/tree", str(dst), "--exact-timestamps")
    assert again.stdout == "", again.stdout

    # one file changed and one removed locally: up with --delete changes exactly those two
    (tmp_path / "src" / "small" / "000.txt").write_bytes(b"changed, and longer\n")
    (tmp_path / "src" / "odd" / "sp ace+plus%20.txt").unlink()
    out = cli("s3", "sync", str(tmp_path / "src"), f"s3://{bucket}/tree", "--delete").stdout
    assert _actions(out) == ["delete sp ace+plus%20.txt", "upload 000.txt"], out
    # and down with --delete: the copy follows
    out = cli("s3", "sync", f"s3://{bucket}/tree", str(dst), "--delete").stdout
    assert _actions(out) == ["delete sp ace+plus%20.txt", "download 000.txt"], out
    assert _read(dst) == _read(tmp_path / "src")

    # bucket to bucket: mv moves every key (the 9 MiB one by UploadPartCopy)
    target = _bucket(cli)
    out = cli("s3", "mv", "--recursive", f"s3://{bucket}/tree/", f"s3://{target}/moved/").stdout
    assert out.count("move:") == len(files) - 1, out
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    back = tmp_path / "back"
    cli("s3", "cp", "--recursive", f"s3://{target}/moved", str(back))
    assert _read(back) == _read(tmp_path / "src")


def test_v2_presigns_with_sigv4(gateway: Gateway, tmp_path: Path) -> None:
    """aws CLI v2 presigns with SigV4 by default (v1 needs ``signature_version = s3v4``)."""
    cli = cli_of_version(gateway, tmp_path, "v2")
    bucket = _bucket(cli)
    body = b"shared with a v2 presigned URL\n"
    (tmp_path / "f").write_bytes(body)
    key = "share/a b+c%d \u00fc.txt"
    cli("s3", "cp", str(tmp_path / "f"), f"s3://{bucket}/{key}")
    url = cli("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "120").stdout.strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=120" in url, url
    fetched = urlopen(gateway, url)
    assert (fetched.status, fetched.body) == (200, body)
    refused = urlopen(gateway, url.replace("X-Amz-Expires=120", "X-Amz-Expires=121"))
    assert refused.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.body


@pytest.mark.parametrize("backend", ["filesystem", "upstream"])
def test_v2_rb_force_leaves_a_versioned_bucket_with_its_versions(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """``rb --force`` deletes the current objects, which in a versioned bucket only lays
    delete markers: DeleteBucket then answers BucketNotEmpty with AWS's message for a
    versioned bucket (it says what to do), and every version is still there to restore.
    Both backends (in front of moto the gateway finds the versions itself)."""
    gateway: Gateway = request.getfixturevalue(
        "gateway" if backend == "filesystem" else "upstream_gateway"
    )
    cli = cli_of_version(gateway, tmp_path, "v2")
    bucket = _bucket(cli)
    s3 = gateway.client()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="k", Body=body)
    failed = cli("s3", "rb", "--force", f"s3://{bucket}", check=False)
    assert failed.returncode != 0 and "BucketNotEmpty" in failed.stderr, failed.stderr
    assert "You must delete all versions in the bucket." in failed.stderr, failed.stderr
    listed = s3.list_object_versions(Bucket=bucket)
    assert len(listed["Versions"]) == 2 and len(listed["DeleteMarkers"]) == 1
    old = listed["Versions"][0]["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=old)["Body"].read() == b"two"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize(("algorithm", "transport"), [("SHA256", "http"), ("CRC64NVME", "https")])
def test_v1_uploads_with_a_named_checksum_algorithm(
    request: pytest.FixtureRequest, tmp_path: Path, algorithm: str, transport: str
) -> None:
    """``s3api put-object --checksum-algorithm`` and ``s3 cp --checksum-algorithm`` of a
    multipart file (over HTTPS the checksums travel in aws-chunked trailers): the object
    keeps that algorithm (SHA256 per part, COMPOSITE; CRC64NVME over the whole object,
    FULL_OBJECT) and the CLI reads it back checked. The filesystem backend: in front of a
    store in record mode a multipart object keeps no checksum (docs/upstream-backend.md)."""
    gateway: Gateway = request.getfixturevalue("gateway" if transport == "http" else "tls_gateway")
    cli = cli_of_version(gateway, tmp_path, "v1")
    bucket = _bucket(cli)
    small = tmp_path / "small"
    small.write_bytes(b"checksummed\n")
    put = cli.json(
        "s3api", "put-object", "--bucket", bucket, "--key", "small", "--body", str(small),
        "--checksum-algorithm", algorithm,
    )  # fmt: skip
    assert put[f"Checksum{algorithm}"], put
    if algorithm == "SHA256":
        assert put["ChecksumSHA256"] == _b64(hashlib.sha256(small.read_bytes()).digest())
    big = tmp_path / "big"
    big.write_bytes(os.urandom(9 * MiB))
    cli("s3", "cp", str(big), f"s3://{bucket}/big", "--checksum-algorithm", algorithm)
    head = cli.json(
        "s3api", "head-object", "--bucket", bucket, "--key", "big", "--checksum-mode", "ENABLED"
    )
    expected = "COMPOSITE" if algorithm == "SHA256" else "FULL_OBJECT"
    assert head["ETag"].endswith('-2"') and head.get("ChecksumType") == expected, head
    assert head[f"Checksum{algorithm}"].endswith("-2") == (expected == "COMPOSITE"), head
    cli("s3", "cp", f"s3://{bucket}/big", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == big.read_bytes()
