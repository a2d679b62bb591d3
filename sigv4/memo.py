"""``remember``: the one rule of the bounded memos on the request path.

A memo maps a value a peer sends again and again (a client's ``Credential``, a store's
header names) to what parsing it gave. Whatever the peer sends, a memo holds at most
``limit`` entries: when full it is emptied and fills again. Emptying costs one miss per
distinct value afterwards, and no bookkeeping per hit (an LRU's would cost about as much
as the parse it saves). It lives in ``sigv4`` because ``sigv4`` imports nothing of ours,
so ``sigv4``, ``backends`` and ``gateway`` may all use it.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["remember"]

_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(memo: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    """Store ``value`` under ``key`` (emptying ``memo`` first when it holds ``limit``
    entries) and return it."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
