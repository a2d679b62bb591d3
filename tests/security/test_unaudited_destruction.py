"""Data destroyed without an audit record: the class of bug where the gateway deletes
data on its own initiative (no client request, so no access-log line either) and nobody
can later say what went, when, or why.

The lifecycle sweeper is that code. Its rules, read from the table and the source so a
new kind of removal or a new call site cannot slip past:

- every kind of thing the sweeper does to data (``gateway.lifecycle.audit.Kind``) has
  its row in the one action table (``gateway.audit.actions.LIFECYCLE_ACTIONS``) with an
  action the audit log knows, and the table names no kind the sweeper lacks;
- every call in ``gateway/lifecycle/`` of a backend method that destroys data goes
  through ``LifecycleAudit.attempt`` (which records a refusal), and its function records
  the success (``.done``).

That the events are written and readable is tested on running gateways
(tests/e2e/test_lifecycle_audit.py) and against every backend
(tests/gateway/lifecycle/test_sweeper_audit.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.audit.actions import ACTIONS, LIFECYCLE_ACTIONS
from gateway.lifecycle.audit import KINDS

ROOT = Path(__file__).resolve().parents[2]
DESTRUCTIVE = frozenset(
    {
        "delete_object",
        "delete_objects",
        "abort_multipart_upload",
        "delete_bucket",
        "put_object",  # replaces a never-versioned object
        "copy_object",
        "complete_multipart_upload",
    }
)
"""Backend methods (``backends/base.py``) that remove or replace stored data."""


def test_every_kind_of_removal_has_an_audit_action() -> None:
    assert set(KINDS) == set(LIFECYCLE_ACTIONS)
    for kind in KINDS:
        action, operation = LIFECYCLE_ACTIONS[kind]
        assert action in ACTIONS, kind
        assert action.startswith("lifecycle."), action  # ?action=lifecycle.* finds them all
        assert operation.startswith("S3."), operation  # AWS's server-access-log name
    actions = [action for action, _ in LIFECYCLE_ACTIONS.values()]
    assert len(actions) == len(set(actions)), "one action per kind"


def _calls(function: ast.AST, names: frozenset[str]) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    ]


def _unaudited(source: str, filename: str) -> list[str]:
    """``file:line`` of destructive backend calls not handed to ``attempt``, and of
    functions that make one without recording its success."""
    tree = ast.parse(source, filename=filename)
    problems: list[str] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        destroying = [
            call
            for call in _calls(function, DESTRUCTIVE)
            if isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Attribute)
            and call.func.value.attr == "backend"
        ]
        if not destroying:
            continue
        handed: set[int] = set()  # ids of the calls given to attempt(...)
        named: dict[str, ast.Call] = {}
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
            ):
                named[node.targets[0].id] = node.value
        for attempt in _calls(function, frozenset({"attempt"})):
            for arg in attempt.args:
                if isinstance(arg, ast.Call):
                    handed.add(id(arg))
                elif isinstance(arg, ast.Name) and arg.id in named:
                    handed.add(id(named[arg.id]))
        problems += [
            f"{filename}:{call.lineno}: {ast.unparse(call.func)} outside attempt(...)"
            for call in destroying
            if id(call) not in handed
        ]
        if not _calls(function, frozenset({"done"})):
            problems.append(f"{filename}:{function.lineno}: {function.name} records no success")
    return problems


def test_every_destructive_call_of_the_sweeper_is_audited() -> None:
    sources = sorted((ROOT / "gateway" / "lifecycle").glob("*.py"))
    found = 0
    problems: list[str] = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(ROOT).as_posix()
        problems += _unaudited(text, relative)
        found += sum(text.count(f"backend.{name}(") for name in DESTRUCTIVE)
    assert problems == []
    assert found >= 3  # the scan sees the sweeper's deletions and aborts


def test_the_scan_catches_an_unaudited_deletion() -> None:
    """The rule itself: a deletion made directly, or without recording success, is
    reported; the sweeper's shape passes."""
    bare = (
        "async def f(self):\n"
        "    await self.backend.delete_object(b, k)\n"
        "    await self.audit.done(what)\n"
    )
    assert len(_unaudited(bare, "bare.py")) == 1
    silent = (
        "async def f(self):\n"
        "    call = self.backend.abort_multipart_upload(b, k, u)\n"
        "    await self.audit.attempt(what, call)\n"
    )
    assert _unaudited(silent, "silent.py") == ["silent.py:1: f records no success"]
    audited = (
        "async def f(self):\n"
        "    result = await self.audit.attempt(what, self.backend.delete_object(b, k))\n"
        "    await self.audit.done(what)\n"
    )
    assert _unaudited(audited, "ok.py") == []
