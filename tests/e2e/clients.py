"""Shared pieces of the third-party client tests (tests/e2e/test_client_*.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.gateway_process import Gateway

MiB = 1024 * 1024
PART = 5 * MiB
"""The part size the tests ask each client for: S3's smallest, so a 12 MB file is three
parts and the last one short."""
BIG = 12_000_000

TREE = {
    "a.txt": b"hello\n",
    "sub/b.txt": b"x",
    "sub/sp ace+plus&amp.txt": b"key with a space, a plus and an ampersand",
    "sub/\u00fcnic\u00f8de \u2603.txt": b"non-ASCII key",
    "deep/er/still/c.txt": b"",
}
"""Small files under keys that clients encode in different ways (and one empty file)."""


def tool(name: str) -> str:
    """A command-line client the venv installed beside this interpreter (rclone, s3cmd)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed in the venv (make install)"
    return str(path)


def make_tree(root: Path) -> dict[str, bytes]:
    """Write TREE plus a random BIG-byte file under ``root``; return key -> content."""
    files = {**TREE, "big.bin": os.urandom(BIG)}
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def run(args: list[str], env: dict[str, str] | None = None) -> bytes:
    """Run a client command; fail the test with its output if it fails. Its stdout."""
    done = subprocess.run(
        args,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{output}"
    return done.stdout


def hostport(gateway: Gateway) -> str:
    return f"127.0.0.1:{gateway.s3_port}"
