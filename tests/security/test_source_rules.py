"""Rules read from the source, so a new validator or XML writer cannot quietly break them.

- A regular expression never anchors with ``$``: in Python ``$`` also matches before a
  trailing newline, so ``re.match(r"^[a-z]+$", "name\\n")`` succeeds and a validated name
  can carry a newline into a path, a header or a second bucket. Validators use
  ``fullmatch`` (or ``\\Z``).
- A compiled pattern is never used as a validator through ``.match(value)`` (a prefix
  match: trailing junk passes) and ``re.match`` is not used at all; ``.match(text, pos)``
  (a tokenizer stepping through a string) is allowed.
- XML responses are written by ``XmlWriter``, which escapes every value; its ``raw``
  (a pre-escaped fragment) is allowed only where pinned below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "backends", "sigv4")
_RE_FUNCTIONS = frozenset(
    {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
)
RAW_XML_ALLOWED = {
    # the listing's hot path: keys, ETags, storage classes and checksum names escaped
    # before the fragment is assembled (gateway/s3/listing.py, _contents)
    "gateway/s3/listing.py",
    # an owner fragment, built once per listing page: the canonical id is our own hex
    # (canonical_id_for), the display name escaped (gateway/s3/owner.py, OwnerName.xml)
    "gateway/s3/owner.py",
}


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _is_re_call(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        and node.func.attr in _RE_FUNCTIONS
    ):
        return node.func.attr
    return None


def _pattern(node: ast.Call) -> str | None:
    if not node.args or not isinstance(node.args[0], ast.Constant):
        return None
    value = node.args[0].value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def dollar_anchor(pattern: str) -> bool:
    """Whether ``pattern`` has an unescaped ``$`` outside a character class."""
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # a leading "]" is a literal
        elif ch == "$":
            return True
        i += 1
    return False


def test_the_anchor_detector() -> None:
    assert dollar_anchor(r"^[a-z]+$")
    assert dollar_anchor(r"(?:,|$)")
    assert not dollar_anchor(r"[a-z$]+\Z")
    assert not dollar_anchor(r"\$\{([^}]*)\}")
    assert not dollar_anchor(r"[]$]")
    assert not dollar_anchor(r"[^$]")


def test_no_regular_expression_anchors_with_dollar() -> None:
    offenders = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if _is_re_call(node) is None:
                continue
            assert isinstance(node, ast.Call)
            pattern = _pattern(node)
            if pattern is not None and dollar_anchor(pattern):
                offenders.append(f"{path}:{node.lineno}: {pattern!r}")
    assert not offenders, "use fullmatch or \\Z instead of $:\n" + "\n".join(offenders)


def test_no_prefix_match_validators() -> None:
    offenders = []
    for path, tree in _sources():
        compiled = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and _is_re_call(node.value) == "compile"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if _is_re_call(node) == "match":
                assert isinstance(node, ast.Call)
                offenders.append(f"{path}:{node.lineno}: re.match")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "match"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in compiled
                and len(node.args) == 1
            ):
                offenders.append(f"{path}:{node.lineno}: {node.func.value.id}.match(value)")
    assert not offenders, "validate with fullmatch:\n" + "\n".join(offenders)


def test_raw_xml_is_written_only_where_pinned() -> None:
    callers = set()
    for path, tree in _sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "raw"
                and path != "gateway/s3/xml.py"
            ):
                callers.add(path)
    assert callers <= RAW_XML_ALLOWED, sorted(callers - RAW_XML_ALLOWED)
