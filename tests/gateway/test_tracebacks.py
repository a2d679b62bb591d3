"""``gateway.tracebacks.drop_tracebacks``: an answered error lets go of every traceback
of its chain, and an unexpected error logged before that keeps its whole traceback in
the log (the dispatchers log a 500, then drop)."""

from __future__ import annotations

import io
import logging

from gateway.tracebacks import drop_tracebacks


class _Answered(Exception):
    pass


def _deepest() -> None:
    raise KeyError("inner")


def _translating() -> None:
    try:
        _deepest()
    except KeyError as exc:
        raise _Answered("outer") from exc


def _handled_while_failing() -> None:
    try:
        _translating()
    except _Answered:
        raise RuntimeError("during handling") from None


def test_the_whole_chain_lets_go_of_its_frames() -> None:
    try:
        try:
            _translating()
        except _Answered as first:
            raise ExceptionGroup("both", [first, ValueError("second")]) from None
    except ExceptionGroup as exc:
        group = exc
    answered = group.exceptions[0]
    chain = [group, answered, answered.__cause__, group.__context__]
    assert all(e is not None and e.__traceback__ is not None for e in chain[:3])
    drop_tracebacks(group)
    assert all(e is None or e.__traceback__ is None for e in chain)
    assert answered.__cause__ is not None and answered.__cause__.__traceback__ is None


def test_a_context_the_error_suppressed_is_dropped_too() -> None:
    try:
        _handled_while_failing()
    except RuntimeError as exc:
        error = exc
    assert error.__suppress_context__ and error.__context__ is not None
    drop_tracebacks(error)
    assert error.__traceback__ is None and error.__context__.__traceback__ is None


def test_an_error_logged_before_it_is_dropped_keeps_its_whole_traceback() -> None:
    out = io.StringIO()
    log = logging.getLogger("tests.tracebacks")
    handler = logging.StreamHandler(out)
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            _translating()
        except _Answered as exc:
            log.exception("internal error")
            drop_tracebacks(exc)
            assert exc.__traceback__ is None
    finally:
        log.removeHandler(handler)
        log.propagate = True
    logged = out.getvalue()
    # both exceptions, each with the frames it was raised through
    assert "in _deepest" in logged and "in _translating" in logged
    assert "The above exception was the direct cause" in logged
