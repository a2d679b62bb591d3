"""An answered error lets go of its tracebacks, so the request's objects go by refcount.

A raised exception holds its traceback, the traceback every frame the exception passed
through, and each frame its locals: a frame whose locals reach the exception (``error =
...; raise error``, an exception kept on an object the frame holds, a future holding
it, aiohttp's match info holding its routing error) makes a reference cycle, and with it
the request's objects (request, context, access, answer) wait for the cyclic garbage
collector: about 0.35 us per object whenever it runs, ~20 us of a 404 HEAD
(``gateway/garbage.py``; docs/architecture.md, "Errors let go of their tracebacks").

The rule, for every error answer (S3 XML, the ``/v1`` JSON envelope): once the error is
rendered, and logged with its traceback when it is unexpected, the place that caught it
calls :func:`drop_tracebacks` on the caught exception. That breaks every such cycle at
once, whatever made it and however deep, so the code that raises need not be perfect.
Logging first keeps a 500's log whole: a handler formats the record (the traceback and
its chained causes) when it is logged, not later (``tests/gateway/test_tracebacks.py``).
Code that raises should not make the cycle in the first place either (raise the
expression, do not bind it: ``raise no_such_key(key)``): the backends have no such
central place, and their callers are not all the gateway's dispatchers.
"""

from __future__ import annotations

__all__ = ["drop_tracebacks"]

_MOST = 64
"""Exceptions of a chain visited at most (a chain is a few long; a bound, not a limit)."""


def drop_tracebacks(exc: BaseException) -> None:
    """Clear the traceback of ``exc`` and of every exception it chains to (``__cause__``,
    ``__context__``, an exception group's members). Call it when ``exc`` was answered
    and, when unexpected, logged: the frames it held are freed by refcount."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < _MOST:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        if current.__cause__ is not None:
            pending.append(current.__cause__)
        if current.__context__ is not None:
            pending.append(current.__context__)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
