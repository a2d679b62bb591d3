"""``gateway.tracebacks.drop_tracebacks``: an answered error lets go of every traceback
of its chain, and an unexpected error logged before that keeps its whole traceback in
the log (the dispatchers log a 500, then drop). And the rule for code that raises: never
from a name the raising frame keeps (``backends/errors.py``), checked in the source."""

from __future__ import annotations

import ast
import io
import logging
from pathlib import Path

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


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of ``function``'s body, not those of functions defined in it."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


def _bound(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names ``function`` binds other than by ``except ... as`` (which Python unbinds at
    the handler's end): its parameters, assignments, loop and ``with`` targets."""
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    for node in _own_nodes(function):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(
            node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr | ast.For | ast.AsyncFor
        ):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _deleted_finally(
    function: ast.FunctionDef | ast.AsyncFunctionDef, raised: ast.Raise
) -> set[str]:
    """Names a ``finally`` around ``raised`` deletes."""
    names: set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, ast.Try) and any(raised in ast.walk(s) for s in node.body):
            for statement in node.finalbody:
                if isinstance(statement, ast.Delete):
                    names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def test_no_error_is_raised_from_a_name_the_raising_frame_keeps() -> None:
    """The rule of ``backends/errors.py`` and ``gateway/tracebacks.py``, read from the
    source: ``raise name`` where the function binds ``name`` (a parameter, an assignment)
    keeps the error in a frame its traceback holds, unless a ``finally`` deletes it."""
    root = Path(__file__).resolve().parents[2]
    kept: list[str] = []
    for package in ("gateway", "backends", "sigv4"):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                bound = _bound(function)
                for node in _own_nodes(function):
                    if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Name):
                        continue
                    name = node.exc.id
                    if name in bound and name not in _deleted_finally(function, node):
                        kept.append(f"{path.relative_to(root)}:{node.lineno}: raise {name}")
    assert not kept, kept
