"""Bucket-to-bucket copies of a 20 MiB object with both aws CLIs: ``s3 cp``, ``s3 mv`` and
``s3 sync`` from ``s3://`` to ``s3://``, on every gateway (HTTP, HTTPS, both backends).

aws CLI v2 reads the source's tags (GetObjectTagging) and metadata before every multipart
copy (objects of 8 MiB and more) and gives both to the copy; with GetObjectTagging
answering 501 these commands failed. v1 is the PyPI ``awscli`` in the venv (a test
dependency); v2 is Debian's ``awscli`` package (``make awscli2`` installs it). Neither is
ever skipped: a missing CLI fails the test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.test_awscli import AWS, AwsCli

MiB = 1024 * 1024
SIZE = 20 * MiB
DEBIAN_AWS = "/usr/bin/aws"


def _version(binary: str) -> str:
    answer = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    return (answer.stdout or answer.stderr).strip()


@pytest.fixture(params=["v1", "v2"])
def any_cli(
    request: pytest.FixtureRequest, any_gateway: Gateway, tmp_path: Path
) -> tuple[AwsCli, str]:
    if request.param == "v1":
        binary = AWS
        assert binary is not None, "the aws CLI v1 is not installed in the venv"
    else:
        binary = DEBIAN_AWS if os.access(DEBIAN_AWS, os.X_OK) else shutil.which("aws") or ""
        assert binary and os.access(binary, os.X_OK), (
            "the aws CLI v2 is missing: run `make awscli2` (Debian's awscli package)"
        )
    version = _version(binary)
    # be sure which is which: the venv's is v1, Debian's v2
    assert version.startswith(f"aws-cli/{request.param[1]}."), version
    home = tmp_path / "aws-home"
    home.mkdir()
    return AwsCli(any_gateway, home, binary), request.param


def _bucket(s3: Any) -> str:
    name = f"cli2-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def _tags(s3: Any, bucket: str, key: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return result


def test_cp_mv_sync_between_buckets(any_cli: tuple[AwsCli, str], s3: Any, tmp_path: Path) -> None:
    cli, version = any_cli
    source, target = _bucket(s3), _bucket(s3)
    data = os.urandom(SIZE)
    digest = hashlib.sha256(data).hexdigest()
    s3.put_object(
        Bucket=source,
        Key="big.bin",
        Body=data,
        ContentType="application/x-test",
        Metadata={"origin": "cli-test"},
        Tagging="team=blue&kind=big",
    )

    reads_before = cli.gateway.log().count("op=GetObjectTagging")
    cli("s3", "cp", f"s3://{source}/big.bin", f"s3://{target}/copied.bin")
    cli("s3", "mv", f"s3://{target}/copied.bin", f"s3://{target}/moved.bin")
    cli("s3", "sync", f"s3://{source}/", f"s3://{target}/synced/")

    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=target).get("Contents", []))
    assert listed == ["moved.bin", "synced/big.bin"]
    for key in listed:
        got = s3.get_object(Bucket=target, Key=key)
        assert got["ContentLength"] == SIZE
        assert hashlib.sha256(got["Body"].read()).hexdigest() == digest
        if version == "v2":
            # v2 copies the source's properties: metadata and tags
            assert got["ContentType"] == "application/x-test"
            assert got["Metadata"] == {"origin": "cli-test"}
            assert _tags(s3, target, key) == [
                {"Key": "kind", "Value": "big"},
                {"Key": "team", "Value": "blue"},
            ]
    if version == "v2":  # the call that used to fail the command
        assert cli.gateway.log().count("op=GetObjectTagging") >= reads_before + 3
    # mv removed its source; the original is untouched
    assert s3.head_object(Bucket=source, Key="big.bin")["ContentLength"] == SIZE
