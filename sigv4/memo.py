"""``remember``: the one rule of the bounded memos on the request path.

A memo maps a value a peer sends again and again (a client's ``Credential``, a store's
header names) to what parsing it gave. Whatever the peer sends, a memo holds at most
``limit`` entries: when full it is emptied and fills again. Emptying costs one miss per
distinct value afterwards, and no bookkeeping per hit (an LRU's would cost about as much
as the parse it saves). It lives in ``sigv4`` because ``sigv4`` imports nothing of ours,
so ``sigv4``, ``backends`` and ``gateway`` may all use it.

``WeighedMemo`` is the same rule with a second bound, for values whose size varies with
what a client stored (an object's metadata): the entries' weights (characters) add up to
at most ``max_weight``.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["WeighedMemo", "remember"]

_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(memo: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    """Store ``value`` under ``key`` (emptying ``memo`` first when it holds ``limit``
    entries) and return it."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


class WeighedMemo(Generic[_K, _V]):
    """A memo (``entries``, read directly) emptied when a new entry would pass
    ``max_entries`` or make the weights add up to more than ``max_weight``. A key stored
    again counts its weight again until the next emptying (memos keyed by an object's
    identity rarely see it; the bound only errs towards emptying early). A value heavier
    than ``max_weight`` is not kept."""

    __slots__ = ("entries", "max_entries", "max_weight", "weight")

    def __init__(self, max_entries: int, max_weight: int) -> None:
        self.entries: dict[_K, _V] = {}
        self.max_entries = max_entries
        self.max_weight = max_weight
        self.weight = 0

    def put(self, key: _K, value: _V, weight: int) -> None:
        if weight > self.max_weight:
            return
        if len(self.entries) >= self.max_entries or self.weight + weight > self.max_weight:
            self.entries.clear()
            self.weight = 0
        self.entries[key] = value
        self.weight += weight
