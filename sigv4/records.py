"""``record``: the decorator of the immutable data classes that the request path builds
anew for every request (``sigv4``, ``backends`` and ``gateway``; it lives here because
``sigv4`` imports nothing of ours, so all three may import it).

A ``@dataclass(frozen=True)`` pays for its immutability on every construction: its
``__init__`` sets each field through ``object.__setattr__`` (about three times the cost of
a plain slotted class: 673 against 204 ns for eight fields), and a small S3 request
builds a few dozen such objects. ``record`` makes a slotted dataclass that the type
checker treats as frozen (``dataclass_transform(frozen_default=True)``: ``mypy --strict``
in ``make check`` refuses any assignment to a field) and that hashes and compares by
its fields as a frozen one does; only the run-time guard against assignment is left out.

Classes whose instances are built once and then shared (configuration, tables, parsed
policies and ACLs, cached rows, the identity store's models) stay
``@dataclass(frozen=True, slots=True)``: the guard costs them nothing there, and a shared
instance is where an accidental assignment would do the most harm (``Principal`` and
``PrincipalFacts`` became such once a key's requests shared them). One ``record`` is shared
too: the filesystem backend keeps the ``ObjectInfo`` of a cached row for the requests that
read it (``MetaDB.info_of``), while listings and the upstream backend build one per key and
per answer; ``mypy --strict`` refuses any assignment to it.
Measured: docs/performance.md, eighth sitting.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field
from typing import TypeVar, dataclass_transform

__all__ = ["record"]

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)`` for the type checker; at run time the same
    class without the assignment guard (see the module docstring)."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
