"""Helpers for the data-at-rest and echoed-value regression tests: gateways started with
chosen settings, TLS material, SSE-C keys and a look at the files of a data directory."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme

from tests.e2e.gateway_process import Gateway, start_gateway


def tls_files(directory: Path) -> tuple[str, str, str]:
    """(certificate, private key, CA bundle) for 127.0.0.1, made by a throwaway CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = (directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[0]))
    cert.private_key_pem.write_to_path(str(paths[1]))
    ca.cert_pem.write_to_path(str(paths[2]))
    return str(paths[0]), str(paths[1]), str(paths[2])


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """This process's umask (inherited by the gateway started inside) for a while."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def start_on(
    launch: Path,
    data_dir: Path,
    *,
    tls: tuple[str, str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> Gateway:
    """A gateway whose data directory is ``data_dir`` exactly as the gateway makes it
    (``start_gateway`` creates its own directory first: ``launch`` is that one, and holds
    the log, ``launch.parent / f"{launch.name}-gateway.log"``)."""
    return start_gateway(
        launch,
        tls=tls,
        extra_env=extra_env,
        extra_args=["--data-dir", str(data_dir), *(extra_args or [])],
    )


def sse_c_key(seed: bytes = b"") -> tuple[bytes, str]:
    """(32-byte key, base64 MD5 of it)."""
    key = hashlib.sha256(seed or os.urandom(16)).digest()
    return key, base64.b64encode(hashlib.md5(key).digest()).decode()


def sse_c_headers(
    key: bytes, prefix: str = "x-amz-server-side-encryption-customer-"
) -> dict[str, str]:
    return {
        f"{prefix}algorithm": "AES256",
        f"{prefix}key": base64.b64encode(key).decode(),
        f"{prefix}key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def modes(root: Path) -> dict[Path, tuple[bool, int]]:
    """Every path under ``root`` (``root`` included): (is a directory, permission bits)."""
    found: dict[Path, tuple[bool, int]] = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        found[path] = (stat.S_ISDIR(info.st_mode), stat.S_IMODE(info.st_mode))
    return found


def files_containing(root: Path, marker: bytes) -> list[Path]:
    """Files under ``root`` whose bytes contain ``marker``."""
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and marker in path.read_bytes():
            hits.append(path)
    return hits
