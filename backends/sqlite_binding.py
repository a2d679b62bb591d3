"""Binding ``bytes`` and ``None`` parameters without Python's adaptation probe.

Python's ``sqlite3`` binds ``int``, ``float``, ``str`` and ``bytearray`` values directly,
but sends every other parameter - ``bytes`` (object keys, inline bodies) and ``None``
among them - through the adaptation protocol first: a look-up in the adapter registry,
then ``__adapt__`` on the protocol type and ``__conform__`` on the value. Both attribute
look-ups miss, and a miss on a type object builds an ``AttributeError`` message that is
thrown away: about 1,700 instructions per such parameter (callgrind), 6.8k for a
statement binding a key and three NULLs, 1-2 % of a small PUT.

Registering identity adapters for exactly these two types ends the probe at the registry
look-up. What is bound does not change: the adapter hands back the value itself (a
``bytes`` subclass is looked up by its own type and still probed). The registry is the
``sqlite3`` module's, so this holds for every connection in the process; it is installed
when this module is imported, by every store that binds parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["installed"]

_EMPTY: dict[None, None] = {}
_NONE: Callable[[None], None] = _EMPTY.get
"""A C function returning None for its argument (a lambda would cost a Python call)."""


def _install() -> None:
    sqlite3.register_adapter(bytes, bytes)
    sqlite3.register_adapter(type(None), _NONE)


def installed() -> bool:
    """Whether both identity adapters are in ``sqlite3``'s registry."""
    registry = sqlite3.adapters
    return (
        registry.get((bytes, sqlite3.PrepareProtocol)) is bytes
        and registry.get((type(None), sqlite3.PrepareProtocol)) is _NONE
    )


_install()
