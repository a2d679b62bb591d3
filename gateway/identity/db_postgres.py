"""The shared :class:`~gateway.identity.db.Database`: PostgreSQL through asyncpg.

Several gateway hosts (and their workers) use one database: every read sees what any of
them committed, so a revocation applies to the next request everywhere.

- **Driver**: asyncpg, made for asyncio only. It speaks the binary protocol and keeps a
  prepared statement per connection for each SQL text, so a lookup is one round trip
  (the SQLite path's one indexed SELECT, no more). No libpq, no dependencies.
- **Pool**: ``min_size``..``max_size`` connections per process; a request waits at most
  ``acquire_timeout`` for one; every statement is cancelled after ``statement_timeout``;
  idle connections close after ``max_idle``. A database that cannot be reached, refuses
  the login, is shutting down or out of connections, a connection that closes under a
  statement or while it waits in the pool (terminated by the server, a failover, the
  network), or a connection or statement that does not come within its timeout, surfaces
  as :class:`StoreUnavailable` (the request answers 503); a parameter holding NUL, which
  ``text`` cannot, as :class:`UnstorableText` (400: the client's input); any other error
  as itself (a fault: 500).
- **Behind PgBouncer** (transaction or statement pool mode): ``prepared_statements=False``
  turns asyncpg's statement cache off, so no statement outlives its transaction's server
  connection; nothing else the gateway does needs a session (its advisory lock is
  transaction-scoped, it never LISTENs or SETs).
- **Placeholders**: statements are written with ``?`` (as for SQLite) and rewritten once
  per SQL text to ``$1, $2, ...``.
- **Transactions**: ``serializable`` bodies run in ``SERIALIZABLE`` transactions;
  ``read_committed`` ones in ``READ COMMITTED``. A body is re-run (with jittered backoff)
  when PostgreSQL reports a serialization failure or a deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Iterator, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg

from backends.outage import OutageLog
from gateway.identity.db import (
    Dialect,
    IntegrityError,
    Isolation,
    PoolOptions,
    Row,
    StoreUnavailable,
    TransactionBody,
    UnstorableText,
)
from gateway.identity.schema import migrate

__all__ = ["PostgresDatabase", "redact_url", "to_numbered"]

_T = TypeVar("_T")
state_outage = OutageLog(logging.getLogger(__name__), "the PostgreSQL state store")
"""An outage's first failure, one line per 10 s while it lasts, and its end: never a line
per request (``backends.outage``)."""


class _PoolOutageFilter(logging.Filter):
    """asyncpg's pool keeps its connection floor (``pool_min_size``) itself, and logs each
    failed reconnection as a warning with a traceback ("Failed to restore the pool
    connection floor; retrying"), every 1, 2, 4 ... 60 s of an outage. Such a failure is
    the outage :func:`_availability` reports: it joins that one rate-limited line per kind
    of error. Anything else asyncpg logs passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, _UNAVAILABLE):
            return True
        state_outage.failed(repr(exc))
        return False


class ConnectionLost(Exception):
    """The connection closed under a statement or transaction (terminated by the server,
    reset by the network): asyncpg then reports an ``InterfaceError`` about the closed
    connection (``Transaction.__aexit__``, a statement), not the loss itself. Raised in
    its place when the connection is closed; on an open connection an ``InterfaceError``
    (a value asyncpg cannot encode, a bug) stays what it is. (A ``try`` rather than a
    context manager: free on the request path until something fails.)"""


_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
_UNAVAILABLE = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect, pool acquire, statement
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, a connection that died
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: the login is refused
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.OperatorInterventionError,  # class 57: shutting down, starting, cancelled
    # asyncpg's protocol out of step with a connection the server closed while it sat in
    # the pool ("cannot switch to state 12; another operation (2) is in progress"):
    # raised by the query or by the pool's reset, never by what a statement holds.
    asyncpg.InternalClientError,
    ConnectionLost,
)
"""What makes a request answer 503: the same request may succeed once the database is
back. A constraint, a syntax error or a bug stays what it is."""


logging.getLogger("asyncpg.pool").addFilter(_PoolOutageFilter())


def _closed(conn: asyncpg.pool.PoolConnectionProxy) -> bool:
    """Whether the connection is gone. A connection that closed while in use has been
    taken back by the pool already: its proxy then refuses even ``is_closed()``."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


@contextlib.contextmanager
def _availability() -> Iterator[None]:
    try:
        yield
    except asyncpg.CharacterNotInRepertoireError as exc:
        # SQLSTATE 22021: a parameter holds NUL, which text cannot (the client's input).
        raise UnstorableText("a value holds a NUL character") from exc
    except _UNAVAILABLE as exc:
        state_outage.failed(repr(exc))
        raise StoreUnavailable("the state store is unavailable") from exc
    if state_outage.down_since is not None:  # the database answered: the outage is over
        state_outage.available()


@functools.lru_cache(maxsize=1024)
def to_numbered(sql: str) -> str:
    """``?`` placeholders to PostgreSQL's ``$1, $2, ...`` (our SQL has no ``?`` literal)."""
    parts = sql.split("?")
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        out.append(f"${index}{part}")
    return "".join(out)


def redact_url(url: str) -> str:
    """``postgresql://user@host:port/db``: the URL without its password, safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{parts.path}"


def _rowcount(status: str) -> int:
    """asyncpg's command tag (``UPDATE 3``, ``INSERT 0 1``) as a row count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx:
    """A transaction on one pooled connection (see :class:`gateway.identity.db.Tx`)."""

    __slots__ = ("_conn",)

    dialect: Dialect = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            status = await self._conn.execute(to_numbered(sql), *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        return _rowcount(status)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            await self._conn.executemany(to_numbered(sql), rows)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row = await self._conn.fetchrow(to_numbered(sql), *params)
        return None if row is None else tuple(row)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return [tuple(r) for r in await self._conn.fetch(to_numbered(sql), *params)]


class PostgresDatabase:
    """Create with :meth:`open`; see the module docstring."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, options: PoolOptions) -> None:
        self._pool = pool
        self._url = redact_url(url)
        self._options = options
        self._closed = False

    @property
    def description(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"PostgresDatabase({self._url!r})"

    @classmethod
    async def open(
        cls, url: str, *, options: PoolOptions, fingerprint: str, now_us: int
    ) -> PostgresDatabase:
        """Connect, then apply pending migrations (one transaction, under an advisory
        lock so gateways starting together wait for each other)."""
        pool = await asyncpg.create_pool(
            url,
            min_size=options.min_size,
            max_size=options.max_size,
            max_inactive_connection_lifetime=options.max_idle,
            command_timeout=options.statement_timeout,
            timeout=options.connect_timeout,
            server_settings={"application_name": "nfyio-gateway"},
            # 0: no named statements, which a transaction-mode pooler (PgBouncer) cannot
            # keep on the server connection a later transaction gets.
            statement_cache_size=100 if options.prepared_statements else 0,
        )
        db = cls(pool, url, options)
        try:
            await db.transaction(
                lambda tx: migrate(tx, fingerprint=fingerprint, now_us=now_us),
                isolation="read_committed",
            )
        except BaseException:
            await db.close()
            raise
        return db

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        self._check_open()
        with _availability():
            async with self._pool.acquire(timeout=self._options.acquire_timeout) as conn:
                try:
                    row = await conn.fetchrow(to_numbered(sql), *params)
                except asyncpg.InterfaceError as exc:
                    if _closed(conn):
                        raise ConnectionLost(str(exc)) from exc
                    raise
        return None if row is None else tuple(row)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._check_open()
        with _availability():
            async with self._pool.acquire(timeout=self._options.acquire_timeout) as conn:
                try:
                    rows = await conn.fetch(to_numbered(sql), *params)
                except asyncpg.InterfaceError as exc:
                    if _closed(conn):
                        raise ConnectionLost(str(exc)) from exc
                    raise
        return [tuple(r) for r in rows]

    async def transaction(
        self, body: TransactionBody[_T], *, isolation: Isolation = "serializable"
    ) -> _T:
        self._check_open()
        attempts = max(1, self._options.serialization_retries)
        for attempt in range(1, attempts + 1):
            try:
                with _availability():
                    async with self._pool.acquire(timeout=self._options.acquire_timeout) as conn:
                        try:
                            async with conn.transaction(isolation=isolation):
                                return await body(PostgresTx(conn))
                        except asyncpg.InterfaceError as exc:
                            if _closed(conn):
                                raise ConnectionLost(str(exc)) from exc
                            raise
            except _RETRYABLE:
                if attempt >= attempts:
                    raise
            # Another transaction won the race: back off a little, then re-run the body
            # on the database as that transaction left it.
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))
        raise AssertionError("unreachable")

    def change_marker(self) -> int | None:
        """None: no commit counter is readable without a round trip (caches keep to
        ``identity.cache_seconds``)."""
        return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the identity store is closed")
