"""gateway.authz stays a pure library: no aiohttp, no identity store, no REST API, no
I/O modules; every error code it raises is one it declares."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.authz.errors import CODES, AuthzError

PACKAGE = Path(__file__).resolve().parents[3] / "gateway" / "authz"
FORBIDDEN = (
    "aiohttp",
    "gateway.identity",
    "gateway.api",
    "gateway.s3.dispatch",
    "sqlite3",
    "socket",
    "asyncio",
    "os",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_nothing_impure(path: Path) -> None:
    for name in _imports(path):
        assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), name


def test_importing_the_package_loads_no_aiohttp() -> None:
    code = (
        "import sys, gateway.authz; print(sorted(m for m in sys.modules"
        " if m.startswith(('aiohttp', 'gateway.identity', 'gateway.api'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_raised_code_is_declared() -> None:
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "AuthzError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append(str(node.args[0].value))
    assert found, "the scan found no raise sites"
    assert sorted(set(found) - CODES.keys()) == []


def test_an_undeclared_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        AuthzError("NoSuchCode", "x")
    assert AuthzError("MalformedPolicy", "x").status == 400
