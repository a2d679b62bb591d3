"""PgBouncer in transaction pool mode in front of the throwaway PostgreSQL cluster
(Debian's ``pgbouncer`` package; ``make services`` installs it when missing).

Few server connections (``default_pool_size = 2``) for many clients, so consecutive
transactions of one client land on different server connections, as they do in
production under load: what breaks there (a statement prepared on one server connection
used on another) breaks here at once. Each test gets a database of its own
(:meth:`PgBouncer.fresh_url`): PgBouncer refuses the ``search_path`` startup parameter that
:meth:`PostgresServer.fresh_url` uses for a schema per test.

Use the ``pgbouncer`` fixture (session scope), registered with ``postgres_server`` in
``tests/conftest.py``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.services.postgres import PostgresServer, free_port

__all__ = ["PGBOUNCER", "PgBouncer", "pgbouncer", "start_pgbouncer"]

PGBOUNCER = Path("/usr/sbin/pgbouncer")


@dataclass
class PgBouncer:
    server: PostgresServer
    base: Path
    port: int
    process: subprocess.Popen[bytes]

    async def fresh_url(self) -> str:
        """A new, empty database on the cluster, reached through PgBouncer."""
        name = "b_" + uuid.uuid4().hex[:16]
        conn = await asyncpg.connect(self.server.url())
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def log(self) -> str:
        return (self.base / "log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGKILL: its shutdown took 2 s, for a throwaway pooler."""
        self.process.kill()
        self.process.wait(timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)


def start_pgbouncer(server: PostgresServer) -> PgBouncer:
    if not PGBOUNCER.exists():
        raise RuntimeError("PgBouncer is not installed: run `make services`")
    base = Path(tempfile.mkdtemp(prefix="nfyio-pgbouncer-"))
    port = free_port()
    (base / "users.txt").write_text('"postgres" ""\n')
    (base / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={server.port} user=postgres\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {base / 'users.txt'}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 2\n"
        "max_client_conn = 400\n"
    )
    command = [str(PGBOUNCER), str(base / "pgbouncer.ini")]
    uid = gid = None
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        entry = pwd.getpwnam("postgres")
        for path in (base, *base.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        uid, gid = entry.pw_uid, entry.pw_gid
    log = (base / "log").open("wb")
    # Popen switches user itself, so the process is PgBouncer: under ``runuser`` the
    # SIGKILL of ``stop`` killed runuser and left PgBouncer running, one per test session
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        user=uid,
        group=gid,
        extra_groups=None if uid is None else [],
    )
    bouncer = PgBouncer(server, base, port, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer exited:\n{bouncer.log()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return bouncer
        time.sleep(0.05)
    bouncer.stop()
    raise RuntimeError(f"PgBouncer did not listen:\n{bouncer.log()}")


@pytest.fixture(scope="session")
def pgbouncer(postgres_server: PostgresServer) -> Iterator[PgBouncer]:
    bouncer = start_pgbouncer(postgres_server)
    yield bouncer
    bouncer.stop()
