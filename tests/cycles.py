"""What a block of code leaves to the cyclic garbage collector, of our own packages.

CPython frees an object when its last reference goes; an object in a reference cycle
waits for the cyclic collector, which walks every young object each time it runs and calls
the finalizers (``__del__``) of what it frees. A request path that leaves a cycle behind
costs that on every request (a proxied request's answer and its parser: ~20 us of CPU,
docs/performance.md, thirty-seventh sitting), and the gateway's raised collection threshold
(``gateway/garbage.py``) makes such garbage wait longer. ``cycles_of_ours`` runs a block
with the collector off and reports the objects of ``gateway``, ``backends`` and ``sigv4``
(instances of their classes, their functions' frames, methods bound to them) that only a
collection would free.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cycles_of_ours", "describe"]

_OURS = ("gateway", "backends", "sigv4")


def _ours_module(name: str | None) -> bool:
    return name is not None and name.split(".", 1)[0] in _OURS


def _ours(obj: object) -> bool:
    if isinstance(obj, types.FrameType):
        return _ours_module(obj.f_globals.get("__name__"))
    if isinstance(obj, types.MethodType):
        return _ours_module(type(obj.__self__).__module__)
    return _ours_module(type(obj).__module__)


def describe(objects: list[object]) -> list[str]:
    """Type names (and a frame's function) of ``objects``, sorted, for an assertion."""
    names = []
    for obj in objects:
        if isinstance(obj, types.FrameType):
            names.append(f"frame of {obj.f_globals.get('__name__')}.{obj.f_code.co_name}")
        else:
            names.append(f"{type(obj).__module__}.{type(obj).__qualname__}")
    return sorted(names)


@contextmanager
def cycles_of_ours() -> Iterator[list[object]]:
    """Yield a list that holds, once the block ends, the cyclic garbage of our packages
    the block made (the collector is off inside the block, then runs once)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    flags = gc.get_debug()
    found: list[object] = []
    try:
        yield found
        gc.set_debug(flags | gc.DEBUG_SAVEALL)
        gc.collect()
        found.extend(obj for obj in gc.garbage if _ours(obj))
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
        if enabled:
            gc.enable()
