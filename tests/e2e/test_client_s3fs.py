"""s3fs (fsspec over aiobotocore) against the gateway with its defaults: directory-style
listings with a delimiter, ranged reads of a block at a time, multipart writes of one block
per part, batched deletes.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.clients import BIG, PART, TREE, make_tree, read_tree, s3fs_filesystem
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique


def test_files_directories_and_ranges(client_gateway: Gateway, tmp_path: Path) -> None:
    fs = s3fs_filesystem(client_gateway)
    bucket = unique("s3fs")
    fs.mkdir(bucket)
    big = os.urandom(BIG)
    # a write of one PART-sized block at a time: a multipart upload of three parts
    with fs.open(f"{bucket}/big", "wb", block_size=PART) as out:
        for start in range(0, BIG, 1_000_000):
            out.write(big[start : start + 1_000_000])
    for key, body in TREE.items():
        fs.pipe(f"{bucket}/tree/{key}", body)

    assert fs.ls(bucket, detail=False) == [f"{bucket}/big", f"{bucket}/tree"]
    assert fs.isdir(f"{bucket}/tree/sub") and not fs.exists(f"{bucket}/nope")
    assert fs.info(f"{bucket}/big")["size"] == BIG
    assert sorted(fs.find(f"{bucket}/tree")) == sorted(f"{bucket}/tree/{key}" for key in TREE)
    assert fs.du(bucket) == BIG + sum(len(body) for body in TREE.values())
    assert fs.glob(f"{bucket}/tree/sub/*.txt") == sorted(
        f"{bucket}/tree/{key}" for key in TREE if key.startswith("sub/")
    )

    with fs.open(f"{bucket}/big", "rb", block_size=1024 * 1024) as handle:
        handle.seek(PART - 100)
        assert handle.read(200) == big[PART - 100 : PART + 100]
    assert fs.cat_file(f"{bucket}/big", start=BIG - 10) == big[-10:]
    assert fs.cat(f"{bucket}/big") == big

    fs.copy(f"{bucket}/big", f"{bucket}/copy")
    fs.mv(f"{bucket}/copy", f"{bucket}/moved")
    assert fs.cat(f"{bucket}/moved") == big and not fs.exists(f"{bucket}/copy")

    files = make_tree(tmp_path / "src")
    fs.put(f"{tmp_path / 'src'}/", f"{bucket}/up/", recursive=True)
    fs.get(f"{bucket}/up/", f"{tmp_path / 'back'}/", recursive=True)
    assert read_tree(tmp_path / "back") == files

    fs.rm(bucket, recursive=True)
    fs.invalidate_cache()
    assert not fs.exists(bucket)


def test_find_under_spaced_and_unicode_prefixes_and_cat_ranges(client_gateway: Gateway) -> None:
    """``find`` (ListObjectsV2 with a prefix, no delimiter) under prefixes with spaces,
    non-ASCII and a percent, with and without its own ``prefix=``; ``cat_ranges``: ranged
    GETs of several files at once, an open end among them."""
    fs = s3fs_filesystem(client_gateway)
    bucket = unique("s3fs")
    fs.mkdir(bucket)
    keys = [
        "dir with space/\u00fc n\u00ef/a.txt",
        "dir with space/\u00fc n\u00ef/b c.txt",
        "dir with space/x+y/z.txt",
        "dir with spaceX/q.txt",
        "\u65e5\u672c/\u30c6\u30b9\u30c8.txt",
        "pct%20/a.txt",
    ]
    for key in keys:
        fs.pipe(f"{bucket}/{key}", key.encode())

    def under(start: str) -> list[str]:
        return sorted(f"{bucket}/{key}" for key in keys if key.startswith(start))

    assert fs.find(f"{bucket}/dir with space") == under("dir with space/")
    assert fs.find(f"{bucket}/dir with space/\u00fc n\u00ef/") == under("dir with space/\u00fc")
    assert fs.find(f"{bucket}/\u65e5\u672c") == under("\u65e5\u672c/")
    assert fs.find(f"{bucket}/pct%20") == under("pct%20/")
    assert fs.find(f"{bucket}/dir with space/", prefix="\u00fc") == under("dir with space/\u00fc")
    assert fs.find(f"{bucket}/", prefix="dir with") == under("dir with")

    big = os.urandom(BIG)
    fs.pipe(f"{bucket}/big", big)
    paths = [f"{bucket}/big", f"{bucket}/big", f"{bucket}/{keys[4]}", f"{bucket}/big"]
    got = fs.cat_ranges(paths, [0, PART - 5, 0, BIG - 7], [10, PART + 5, 3, None])
    assert got == [big[:10], big[PART - 5 : PART + 5], keys[4].encode()[:3], big[-7:]]
    fs.rm(bucket, recursive=True)
