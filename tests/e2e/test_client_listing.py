"""Every third-party client lists a bucket of more than one page, with and without a
delimiter: each pages its own way (continuation tokens, minio-py's `start-after` beside
them, s3cmd's ListObjects v1 markers, rclone's page size), and each must see every key
and every common prefix exactly once.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import obstore as obs
from pyarrow import fs as pafs

from tests.e2e.clients import (
    minio_client,
    obstore_store,
    pyarrow_filesystem,
    rclone,
    s3cmd,
    s3cmd_config,
    s3fs_filesystem,
    s5cmd,
)
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique

FILES, DIRS = 501, 500
"""Keys at the top and top-level "directories": 1,001 entries with a delimiter and 1,001
keys without, two pages of 1,000 either way."""


@dataclass(frozen=True)
class Paged:
    gateway: Gateway
    bucket: str
    files: list[str]
    """The keys at the top level, sorted."""
    dirs: list[str]
    """The top-level prefixes without their slash, sorted."""

    @property
    def keys(self) -> list[str]:
        return sorted([*self.files, *(f"{d}/x" for d in self.dirs)])

    @property
    def top(self) -> list[str]:
        return sorted([*self.files, *(f"{d}/" for d in self.dirs)])


def test_every_client_sees_every_page(client_gateway: Gateway, tmp_path: Path) -> None:
    """One bucket, written once, read by each client in turn."""
    s3 = client_gateway.client(max_pool_connections=16)
    bucket = unique("paging")
    s3.create_bucket(Bucket=bucket)
    files = [f"k{i:04}" for i in range(FILES)]
    dirs = [f"d{i:04}" for i in range(DIRS)]
    with ThreadPoolExecutor(16) as pool:
        keys = [*files, *(f"{d}/x" for d in dirs)]
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b""), keys))
    paged = Paged(client_gateway, bucket, files, dirs)
    rclone_lists(paged)
    s3cmd_lists(paged, s3cmd_config(client_gateway, tmp_path))
    minio_lists(paged)
    s3fs_lists(paged)
    pyarrow_lists(paged)
    obstore_lists(paged)
    s5cmd_lists(paged)


def rclone_lists(paged: Paged) -> None:
    remote = f"gw:{paged.bucket}"
    small_pages = ["--s3-list-chunk", "400"]  # five pages of its own
    recursive = rclone(paged.gateway, "lsf", "-R", "--files-only", remote, *small_pages)
    assert recursive.decode().splitlines() == paged.keys
    assert rclone(paged.gateway, "lsf", remote).decode().splitlines() == paged.top


def s3cmd_lists(paged: Paged, config: Path) -> None:
    bucket = f"s3://{paged.bucket}"
    recursive = s3cmd(config, "ls", "--recursive", bucket).splitlines()
    assert [line.rsplit(f"{bucket}/", 1)[1] for line in recursive] == paged.keys
    top = s3cmd(config, "ls", bucket).splitlines()
    assert sorted(line.rsplit(f"{bucket}/", 1)[1] for line in top) == paged.top


def minio_lists(paged: Paged) -> None:
    mc = minio_client(paged.gateway)
    recursive = [o.object_name for o in mc.list_objects(paged.bucket, recursive=True)]
    assert recursive == paged.keys
    # minio-py yields each page's keys before its prefixes: sorted, every entry once
    top = [o.object_name for o in mc.list_objects(paged.bucket)]
    assert sorted(top) == paged.top
    # start-after before the first key: both pages, the second with the token beside it
    after = [o.object_name for o in mc.list_objects(paged.bucket, recursive=True, start_after="c")]
    assert after == paged.keys


def s3fs_lists(paged: Paged) -> None:
    fs = s3fs_filesystem(paged.gateway)
    assert fs.find(paged.bucket) == [f"{paged.bucket}/{key}" for key in paged.keys]
    top = fs.ls(paged.bucket, detail=True)
    names = sorted((entry["name"].removeprefix(f"{paged.bucket}/"), entry["type"]) for entry in top)
    assert names == sorted(
        [*((name, "file") for name in paged.files), *((name, "directory") for name in paged.dirs)]
    )


def pyarrow_lists(paged: Paged) -> None:
    s3 = pyarrow_filesystem(paged.gateway)
    recursive = s3.get_file_info(pafs.FileSelector(paged.bucket, recursive=True))
    files = sorted(
        info.path.removeprefix(f"{paged.bucket}/")
        for info in recursive
        if info.type == pafs.FileType.File
    )
    assert files == paged.keys
    top = s3.get_file_info(pafs.FileSelector(paged.bucket))
    kinds = sorted((info.path.removeprefix(f"{paged.bucket}/"), info.type.name) for info in top)
    assert kinds == sorted(
        [*((name, "File") for name in paged.files), *((name, "Directory") for name in paged.dirs)]
    )


def obstore_lists(paged: Paged) -> None:
    store = obstore_store(paged.gateway, paged.bucket)
    assert [meta["path"] for meta in obs.list(store).collect()] == paged.keys
    top = obs.list_with_delimiter(store)  # object_store gathers every page itself
    assert top["common_prefixes"] == paged.dirs
    assert [meta["path"] for meta in top["objects"]] == paged.files


def s5cmd_lists(paged: Paged) -> None:
    bucket = f"s3://{paged.bucket}/"

    def keys(pattern: str) -> list[str]:
        lines = s5cmd(paged.gateway, "--json", "ls", pattern).decode().splitlines()
        return [json.loads(line)["key"].removeprefix(bucket) for line in lines]

    # a wildcard lists without a delimiter; s5cmd's workers may print out of order
    assert sorted(keys(f"{bucket}*")) == paged.keys
    assert sorted(keys(bucket)) == paged.top
