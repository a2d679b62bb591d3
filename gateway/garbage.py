"""The cyclic garbage collector's settings for a serving worker.

CPython frees an object when its last reference goes; only reference cycles need the
cyclic collector, which runs whenever the container objects allocated since its last run
outnumber those freed by more than a threshold (700 by default) and then walks every
object of the generations it collects. A gateway worker with 32 requests in flight holds
about 25 such objects per request, so the default threshold was crossed every few dozen
requests with nothing to collect, and each full collection walked the 75k-125k objects
the imports and the app made at start (`make bench`, one worker, 4 KiB requests: 2-3 us
of a filesystem HEAD or GET, 15 us of a PUT, 19-23 us of a proxied HEAD, GET or PUT went
to the collector; docs/performance.md, thirty-seventh sitting).

So, once the listeners are up (``settle``):

- the objects made at start are moved out of the collector's sight (``gc.freeze``): they
  live as long as the worker; a full collection no longer walks them;
- a young collection runs once ``GEN0_THRESHOLD`` more container objects were allocated
  than freed, not 700. The older generations keep Python's own ratios (every 10 young
  collections, and so on).

Cost and bound: garbage in cycles (an error's traceback and its frames, mostly) waits
longer before it is freed, at most ``GEN0_THRESHOLD`` young container objects, a few MB
at worst; memory that refcounting frees (almost all of it, buffers included) is freed as
before. The request paths keep to that: a regression test checks that the successful S3
requests leave no cycle of ours behind (``tests/gateway/test_reference_cycles.py``).
"""

from __future__ import annotations

import gc

__all__ = ["GEN0_THRESHOLD", "settle"]

GEN0_THRESHOLD = 10_000
"""Net container allocations between two young collections (Python's default: 700)."""


def settle() -> None:
    """Freeze what start-up made and raise the young generation's threshold; called
    once per worker, when it starts serving."""
    gc.collect()  # start-up's own garbage goes now, not into the frozen generation
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, older, oldest)
