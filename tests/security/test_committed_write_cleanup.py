"""A PUT that replaced an object is answered by its commit: a failure to remove the
replaced data file afterwards (EPERM, EACCES, EIO) is logged and the file left for the
next start's recovery, never an error for a write that landed.

The old data file is made impossible to move or unlink: immutable (``chattr +i``) when
the tests run as root, else inside a directory without write permission.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway

BODY_SIZE = 256 * 1024  # over the inline limit: the body is a data file of its own


def _data_files(gateway: Gateway) -> set[Path]:
    objects = gateway.data_dir / "storage" / "objects"
    return {path for path in objects.rglob("*") if path.is_file()}


@pytest.fixture
def pinned() -> Iterator[list[Path]]:
    """Paths made undeletable by the test; restored afterwards."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.parent.chmod(0o700)


def _pin(path: Path, pinned: list[Path]) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.parent.chmod(0o500)
    pinned.append(path)
    with pytest.raises(PermissionError):
        os.rename(path, path.with_name("moved"))


def test_overwrite_whose_old_file_will_not_go_succeeds(
    gateway: Gateway, s3: Any, bucket: str, pinned: list[Path]
) -> None:
    before = _data_files(gateway)
    s3.put_object(Bucket=bucket, Key="k", Body=b"a" * BODY_SIZE)
    (old,) = _data_files(gateway) - before
    _pin(old, pinned)

    once = gateway.client(retries={"total_max_attempts": 1})  # a retry would hide a 500
    once.put_object(Bucket=bucket, Key="k", Body=b"b" * BODY_SIZE)

    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"b" * BODY_SIZE
    assert old.exists()  # left for the next start's recovery
    s3.put_object(Bucket=bucket, Key="after", Body=b"c" * BODY_SIZE)  # the writer goes on
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"c" * BODY_SIZE
