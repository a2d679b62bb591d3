"""The one interface between the state store's tables and a SQL database.

Two implementations: :mod:`gateway.identity.db_sqlite` (embedded, the default) and
:mod:`gateway.identity.db_postgres` (asyncpg, shared by several gateway hosts). Every
sub-store (access keys, users, clients, sessions, signing keys, throttle, and the tables
that come next) is written once against :class:`Database`; what differs between the two
databases is data, not code:

- **SQL text.** Statements use ``?`` placeholders (PostgreSQL's implementation rewrites
  them to ``$1, $2, ...``) and the SQL both databases share: ``INSERT ... ON CONFLICT``,
  ``RETURNING``, ``WITH RECURSIVE``, partial indexes. Where they differ, a sub-store picks
  its statement by :attr:`Database.dialect` from a ``{"sqlite": ..., "postgresql": ...}``
  table.
- **Values.** Integers (timestamps are microseconds), text and bytes only: SQLite's
  INTEGER/TEXT/BLOB, PostgreSQL's BIGINT/TEXT/BYTEA. Rows come back as plain tuples.
- **Errors.** A constraint violation is :class:`IntegrityError` on both. It ends the
  transaction: map it to the sub-store's own error and let it propagate. A database that
  cannot be reached (or is too busy) for now is :class:`StoreUnavailable` on both.

Reads (:meth:`Database.fetch_one`, :meth:`Database.fetch_all`) run outside any
transaction and see everything committed before them, by any process or host. Writes are
transaction *bodies*, ``async def body(tx: Tx) -> T``, handed to
:meth:`Database.transaction`:

- the body may only await ``tx`` methods (SQLite runs it to completion on its writer
  thread without an event loop), must not call slow code (hash passwords before, not
  inside), and may run more than once (PostgreSQL retries it after a serialization
  failure), so it computes its result from what it reads, never from outer mutable state;
- ``isolation="serializable"`` (the default): bodies behave as if they ran one at a time,
  whatever they read and write. SQLite gets this from ``BEGIN IMMEDIATE``; PostgreSQL from
  ``SERIALIZABLE`` transactions, retried on conflict;
- ``isolation="read_committed"``: for hot rows that many requests update at once (the
  password throttle). PostgreSQL then neither fails nor retries; the body must take its
  own row locks (:attr:`Tx.for_update`) before a read whose result it writes back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

__all__ = [
    "Database",
    "Dialect",
    "IntegrityError",
    "Isolation",
    "PoolOptions",
    "Row",
    "StoreUnavailable",
    "TransactionBody",
    "Tx",
    "UnstorableText",
]

Dialect = Literal["sqlite", "postgresql"]
Isolation = Literal["serializable", "read_committed"]
Row = tuple[Any, ...]
Params = Sequence[object]

_T = TypeVar("_T")


class IntegrityError(Exception):
    """A unique, foreign-key or check constraint refused a write (both databases)."""


class UnstorableText(ValueError):
    """A value the request brought holds text the database cannot keep or compare: a NUL
    character, which PostgreSQL refuses in ``text`` (SQLite keeps it). Whatever the
    statement (a look-up of an access key id from a presigned URL, a path id, an ACL row
    of an object key with NUL), it is the client's input: requests answer 400 (S3
    ``InvalidArgument``, REST ``InvalidRequest``, OAuth ``invalid_request``), never 500."""


class StoreUnavailable(Exception):
    """The database cannot do the work now and the same request may succeed later: it
    cannot be reached, refuses our login, is shutting down or out of connections, or no
    connection (SQLite: no lock) came within the configured wait. Requests answer 503
    (S3 ``ServiceUnavailable``, REST ``ServiceUnavailable``, OAuth
    ``temporarily_unavailable``) with ``Retry-After: retry_after``; anything else a
    database raises is a fault (500)."""

    retry_after = 5
    """Seconds a client is asked to wait (what ``/ready`` says too)."""


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """Connection settings of a networked database (ignored by SQLite)."""

    min_size: int = 1
    max_size: int = 10
    acquire_timeout: float = 5.0
    """Seconds a request waits for a free connection before failing."""
    connect_timeout: float = 5.0
    statement_timeout: float = 5.0
    """Seconds one statement may take before it is cancelled."""
    max_idle: float = 300.0
    """Seconds an unused connection stays open."""
    serialization_retries: int = 20
    """Attempts of a serializable transaction that keeps conflicting with others."""
    prepared_statements: bool = True
    """Named prepared statements per connection; off behind a transaction-mode pooler."""


class Tx(Protocol):
    """One open write transaction. Every method is ``async`` so that a body is the same
    code on both databases; on SQLite none of them ever suspends."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def for_update(self) -> str:
        """``" FOR UPDATE"`` on PostgreSQL, ``""`` on SQLite (whose writer already holds
        the database lock): append it to a SELECT whose rows the body writes back."""
        ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...


TransactionBody = Callable[[Tx], Coroutine[Any, Any, _T]]


class Database(Protocol):
    """Where the state store keeps its tables."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def description(self) -> str:
        """Where the data lives, safe to log (a file path, or host/port/database)."""
        ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def transaction(
        self, body: TransactionBody[_T], *, isolation: Isolation = "serializable"
    ) -> _T: ...

    def change_marker(self) -> int | None:
        """A number that differs whenever anything was committed since it was last read,
        by any connection of any process: what lets a cache be exact (an answer read
        under marker M stays true while the marker is still M). None where the store has
        no such number at a cost below a query (PostgreSQL): caches then fall back to
        their time bound."""
        ...

    async def close(self) -> None: ...
