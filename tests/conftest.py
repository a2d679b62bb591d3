"""Session services shared by every test directory, registered here once.

A session fixture imported into several ``conftest.py`` files (or test modules) is a
separate fixture in each, so each started its own server: up to three SeaweedFS and seven
PostgreSQL clusters per pytest process. Registered once at the root, each pytest process
(xdist worker) starts one of each, on first use. Tests keep apart by unique bucket names,
a fresh schema (:meth:`PostgresServer.fresh_url`) or a fresh database
(:meth:`PgBouncer.fresh_url`).
"""

from tests.services.fixtures import seaweedfs
from tests.services.pgbouncer import pgbouncer
from tests.services.postgres import postgres_server

__all__ = ["pgbouncer", "postgres_server", "seaweedfs"]
