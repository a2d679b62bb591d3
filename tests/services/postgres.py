"""A throwaway PostgreSQL cluster for the tests (Debian's ``postgresql`` package).

``initdb`` on a temporary directory owned by the ``postgres`` user (PostgreSQL refuses to
run as root; when the tests are not root they run it as themselves), a free TCP port on
127.0.0.1, the unix socket in the same directory, ``pg_ctl`` to start and stop, the
directory removed afterwards. Durability is switched off (``fsync=off``): it is a test
cluster. ``make services`` installs the package when ``initdb`` is missing.

Each test gets its own schema in one database (:meth:`PostgresServer.fresh_url`): much
faster than a database per test, and the URL's ``search_path`` keeps tests apart.

Use the ``postgres_server`` fixture (session scope: one cluster per pytest process),
registered once for every test directory in ``tests/conftest.py``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

__all__ = ["PostgresServer", "find_bindir", "free_port", "postgres_server", "start_postgres"]

DATABASE = "nfyio"
_DEBIAN_INITDB = "/usr/lib/postgresql/*/bin/initdb"
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c listen_addresses=127.0.0.1 -c max_connections=200"
)


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb``, else the
    directory of an ``initdb`` on PATH."""
    versions = {Path(p).parents[1].name: Path(p).parent for p in glob.glob(_DEBIAN_INITDB)}
    numbered = sorted((int(v), path) for v, path in versions.items() if v.isdigit())
    if numbered:
        return numbered[-1][1]
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 free when asked."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    base: Path
    port: int
    as_user: str | None

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def fresh_url(self) -> str:
        """The URL of a new, empty schema of its own (``search_path`` set in the URL)."""
        schema = "t_" + uuid.uuid4().hex[:16]
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        return f"{self.url()}?search_path={schema}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def pause(self) -> None:
        """Shut the server down (an outage), keeping its data for :meth:`resume`."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.base / "log"),
            "-o",
            self.options,
            "-w",
            "start",
        )

    @property
    def options(self) -> str:
        return f"-p {self.port} -k {self.base} {_SERVER_OPTIONS}"

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no initdb): run `make services`, or "
            "`apt-get install -y postgresql`"
        )
    as_user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="nfyio-pg-"))
    if as_user is not None:
        entry = pwd.getpwnam(as_user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, base=base, port=free_port(), as_user=as_user)
    try:
        server.run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        server.resume()
        server.run("createdb", "-h", str(base), "-p", str(server.port), "-U", "postgres", DATABASE)
    except BaseException as exc:
        log = base / "log"
        detail = log.read_text(errors="replace") if log.exists() else ""
        if isinstance(exc, subprocess.CalledProcessError):
            detail = f"{exc.stderr}\n{detail}"
        server.stop()
        raise RuntimeError(f"could not start PostgreSQL: {exc}\n{detail}") from exc
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()
