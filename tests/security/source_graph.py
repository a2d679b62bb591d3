"""What each S3 operation's code can read, for the accounting tests.

A name botocore's S3 model can send to an operation (a header, a query parameter, a body
element) counts as read when it appears, quoted, in code that a request for *that
operation* can run: the common request path (``gateway.s3.dispatch.handle`` up to the
handler call: parsing, authentication, the access decision, the refused-header table)
or the operation's handler, with everything either calls. A name read only by another
operation's code does not count: that is how CopyObject ignored
``x-amz-checksum-algorithm`` while CreateMultipartUpload read it, and a search of the
whole source could not tell (deleting CopyObject's read of it fails the header test now).

The call graph is built from the source with ``ast``, meant to err towards reaching too
much (a name counted as read that is not) rather than too little. Where it cuts an edge,
it is because no code of ours can run there:

- a plain name resolves through the module's definitions and imports (re-exports
  followed), ``module.name`` to that module's definition, ``Class.name`` to its member,
  ``self.name`` to the class's member and its subclasses' overrides;
- ``object.attribute`` where the source states the object's type (an annotated
  parameter or local, a local made by a constructor call) reaches nothing when that type
  is a library's or a builtin (``web.StreamResponse``, ``bytes``): no code of ours runs;
- any other ``object.attribute`` reaches every method of that name of every class
  (dynamic dispatch: what the object is is not known);
- ``self.x()`` where ``x`` is a value the class stored reaches nothing more: the
  callable was reached where it was stored;
- a reference to a class reaches its body and constructors; a reference to a module-level
  table reaches what the table names (handler tables).

What it cannot tell: a name the common path mentions (parsing every request's
preconditions, say) counts for every operation, whichever acts on it. So does a table of
names that are recognised without being read, unless listed in ``NAMES_NOT_READ``. The
routing tables of ``gateway/s3/operations.py`` do not count: naming a parameter there is
not reading it. Strings are compared in lower case when asked (HTTP names).
"""

from __future__ import annotations

import ast
import builtins
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.s3.handlers import HANDLERS

__all__ = ["read_by"]

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "sigv4")
"""Where a request is read. The storage backends are handed typed values, never the
request (``backends/base.py``): the names in their code are the upstream store's
vocabulary (the requests they send, the answers they parse) and do not count."""
COMMON_ROOT = "gateway.s3.dispatch:handle"
OWN_PATHS = {"PostObject": ("gateway.s3.post_object:read_post",)}
"""Code the common path runs for one operation only (dispatch reads a POST Object form
before the handler): it counts for that operation and not in the common path."""
PER_OPERATION_TABLES = frozenset({"gateway.s3.refused_headers"})
"""Modules whose tables say, per operation, what each refuses: the tests read those tables
by operation (``REFUSED[name]``), so their strings do not count for every operation."""
NAMES_NOT_READ = frozenset({"sigv4.payload:_CHECKSUM_FAMILY"})
"""Tables that list names without reading them: every ``x-amz-checksum-*`` header S3
knows, so that any other is refused (what each operation does with its own is its
code's business)."""
_CONSTRUCTORS = frozenset({"__init__", "__post_init__", "__new__", "__call__"})


@dataclass
class _Node:
    strings: set[str] = field(default_factory=set)
    refs: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class _Graph:
    nodes: dict[str, _Node] = field(default_factory=dict)
    symbols: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    methods: dict[str, set[str]] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    """A class's key -> the attributes its code assigns (``self.x = ...``, class fields)."""
    statements: set[str] = field(default_factory=set)
    """Module-level statements (tables, constants), keyed by the name they assign."""
    subclasses: dict[str, set[str]] = field(default_factory=dict)
    """A class's name -> the classes naming it as a base."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_roots(annotation: ast.expr | None) -> tuple[str, ...]:
    """The names an annotation is built from (``web.StreamResponse | None`` -> web, None)."""
    if annotation is None:
        return ()
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return ()
    return tuple(part.id for part in ast.walk(annotation) if isinstance(part, ast.Name))


def _local_types(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, tuple[str, ...]]:
    """Names of a function whose type its source states: annotated parameters and locals,
    and locals assigned a constructor call (``x = Writer(...)``)."""
    types: dict[str, tuple[str, ...]] = {}
    arguments = function.args
    for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        if argument.annotation is not None:
            types[argument.arg] = _type_roots(argument.annotation)
    for part in ast.walk(function):
        if isinstance(part, ast.AnnAssign) and isinstance(part.target, ast.Name):
            types[part.target.id] = _type_roots(part.annotation)
        elif (
            isinstance(part, ast.Assign)
            and len(part.targets) == 1
            and isinstance(part.targets[0], ast.Name)
            and isinstance(part.value, ast.Call)
            and part.targets[0].id not in types
        ):
            types[part.targets[0].id] = _type_roots(part.value.func)
    return types


def _collect(statements: Iterable[ast.AST], node: _Node, owner: str = "") -> None:
    """Strings and references of ``statements``; ``owner`` is the enclosing class's key
    (``self.x`` is its member)."""
    types: dict[str, tuple[str, ...]] = {}
    for sub in statements:
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
            types |= _local_types(sub)
    for sub in statements:
        for part in ast.walk(sub):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                node.strings.add(part.value)
            elif isinstance(part, ast.Name):
                node.refs.append(("name", part.id))
            elif isinstance(part, ast.Attribute):
                base = part.value.id if isinstance(part.value, ast.Name) else ""
                root = part.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if base == "" and isinstance(root, ast.Name) and root.id in types:
                    node.refs.append(("typed", part.attr, *types[root.id]))
                elif base in ("self", "cls") and owner:
                    node.refs.append(("member", owner, part.attr))
                elif base in types:
                    node.refs.append(("typed", part.attr, *types[base]))
                else:
                    node.refs.append(("attr", base, part.attr))


def _is_self(expression: ast.expr) -> bool:
    return isinstance(expression, ast.Name) and expression.id in ("self", "cls")


def _import_base(module: str, is_package: bool, statement: ast.ImportFrom) -> str:
    if not statement.level:
        return statement.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (statement.level - 1)]
    return ".".join([*parts, *([statement.module] if statement.module else [])])


def _add_module(graph: _Graph, module: str, tree: ast.Module, is_package: bool) -> None:
    table = graph.symbols.setdefault(module, {})
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom):
            base = _import_base(module, is_package, statement)
            for alias in statement.names:
                table[alias.asname or alias.name] = ("from", base, alias.name)
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                name = alias.asname or alias.name.split(".")[0]
                table[name] = ("module", alias.name if alias.asname else name)
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            key = f"{module}:{statement.name}"
            graph.nodes[key] = node = _Node()
            _collect([statement], node)
            table[statement.name] = ("def", key)
        elif isinstance(statement, ast.ClassDef):
            key = f"{module}:{statement.name}"
            graph.nodes[key] = node = _Node()
            table[statement.name] = ("def", key)
            _collect([*statement.bases, *statement.decorator_list], node)
            graph.fields[key] = {
                target.attr if isinstance(target, ast.Attribute) else target.id
                for part in ast.walk(statement)
                if isinstance(part, ast.Assign | ast.AnnAssign)
                for target in (part.targets if isinstance(part, ast.Assign) else [part.target])
                if (isinstance(target, ast.Attribute) and _is_self(target.value))
                or (isinstance(target, ast.Name) and part in statement.body)
            }
            for parent in statement.bases:
                named = parent.attr if isinstance(parent, ast.Attribute) else ""
                named = parent.id if isinstance(parent, ast.Name) else named
                graph.subclasses.setdefault(named, set()).add(key)
            for member in statement.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    method = f"{key}.{member.name}"
                    graph.nodes[method] = _Node()
                    _collect([member], graph.nodes[method], owner=key)
                    graph.methods.setdefault(member.name, set()).add(method)
                    if member.name in _CONSTRUCTORS:
                        node.refs.append(("key", method))
                else:
                    _collect([member], node)
        else:
            targets = statement.targets if isinstance(statement, ast.Assign) else []
            if isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            names = [target.id for target in targets if isinstance(target, ast.Name)]
            key = f"{module}:{names[0]}" if names else f"{module}:<line {statement.lineno}>"
            graph.nodes[key] = node = _Node()
            graph.statements.add(key)
            _collect([statement], node)
            for name in names:
                table[name] = ("def", key)


@functools.cache
def _graph() -> _Graph:
    graph = _Graph()
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name != "operations.py":
                module = _module_name(path)
                _add_module(graph, module, ast.parse(path.read_text()), path.name == "__init__.py")
    return graph


def _resolve(graph: _Graph, module: str, name: str, depth: int = 0) -> tuple[str, ...] | None:
    """``("def", key)``, ``("module", name)`` or None (a builtin, a local, a library)."""
    entry = graph.symbols.get(module, {}).get(name)
    if entry is None:
        return ("module", f"{module}.{name}") if f"{module}.{name}" in graph.symbols else None
    if entry[0] == "def" or depth > 8:
        return entry if entry[0] == "def" else None
    if entry[0] == "module":
        return entry if entry[1] in graph.symbols else None
    _, base, imported = entry
    if base in graph.symbols:
        return _resolve(graph, base, imported, depth + 1)
    return None


def _targets(graph: _Graph, key: str) -> Iterator[str]:
    module = key.partition(":")[0]
    for ref in graph.nodes[key].refs:
        if ref[0] == "key":
            yield ref[1]
        elif ref[0] == "name":
            found = _resolve(graph, module, ref[1])
            if found is not None and found[0] == "def":
                yield found[1]
        elif ref[0] == "member":
            yield from _member(graph, ref[1], ref[2])
        elif ref[0] == "typed":
            yield from _typed(graph, module, ref[1], ref[2:])
        else:
            _, base, attribute = ref
            found = _resolve(graph, module, base) if base else None
            if found is not None and found[0] == "module":
                inner = _resolve(graph, found[1], attribute)
                if inner is not None and inner[0] == "def":
                    yield inner[1]
                continue
            if found is not None and f"{found[1]}.{attribute}" in graph.nodes:
                yield f"{found[1]}.{attribute}"
                continue
            yield from _any_method(graph, attribute)


def _any_method(graph: _Graph, attribute: str) -> Iterator[str]:
    """Every method of that name: the receiver's class is not known."""
    if not attribute.startswith("__"):  # constructors: reached through their classes
        yield from graph.methods.get(attribute, ())


def _member(graph: _Graph, owner: str, attribute: str) -> Iterator[str]:
    """``self.attribute`` in a method of ``owner``: its own member and its subclasses'
    overrides, or, when the class does not define it (inherited), any method so named."""
    if f"{owner}.{attribute}" not in graph.nodes:
        if attribute not in graph.fields.get(owner, ()):
            yield from _any_method(graph, attribute)  # inherited: from where is not known
        return  # a stored value: what it holds is reached where it was stored
    yield f"{owner}.{attribute}"
    for subclass in graph.subclasses.get(owner.partition(":")[2], ()):
        if f"{subclass}.{attribute}" in graph.nodes:
            yield f"{subclass}.{attribute}"


def _typed(graph: _Graph, module: str, attribute: str, roots: tuple[str, ...]) -> Iterator[str]:
    """``name.attribute`` where the source states name's type: nothing when every name of
    the type is a library's or a builtin (``web.StreamResponse``, ``bytes | None``)."""
    for root in roots:
        found = _resolve(graph, module, root)
        if found is not None:
            yield from _any_method(graph, attribute)
            return
        if root not in graph.symbols.get(module, {}) and not hasattr(builtins, root):
            yield from _any_method(graph, attribute)  # a name we cannot place
            return


def _reach(roots: Iterable[str], stop: frozenset[str]) -> frozenset[str]:
    graph = _graph()
    seen: set[str] = set()
    strings: set[str] = set()
    todo = list(roots)
    while todo:
        key = todo.pop()
        if key in seen or key in stop or _is_table(key):
            continue
        seen.add(key)
        strings |= graph.nodes[key].strings
        todo.extend(_targets(graph, key))
    return frozenset(strings)


def _is_table(key: str) -> bool:
    return key in NAMES_NOT_READ or (
        key.partition(":")[0] in PER_OPERATION_TABLES and key in _graph().statements
    )


def _handler_key(operation: str) -> str:
    handler = HANDLERS[operation]
    return f"{handler.__module__}:{handler.__qualname__.partition('.<locals>')[0]}"


@functools.cache
def _handlers() -> frozenset[str]:
    return frozenset(_handler_key(name) for name in HANDLERS)


@functools.cache
def _common() -> frozenset[str]:
    own = {key for keys in OWN_PATHS.values() for key in keys}
    return _reach([COMMON_ROOT], stop=_handlers() | own)


@functools.cache
def _strings(operation: str, lower: bool) -> frozenset[str]:
    handler = _handler_key(operation)
    own = _reach([handler, *OWN_PATHS.get(operation, ())], stop=_handlers() - {handler})
    every = own | _common()
    return frozenset(s.lower() for s in every) if lower else every


def read_by(operation: str, name: str, *, case_sensitive: bool = True) -> bool:
    """Whether ``name`` appears quoted in code a request for ``operation`` can run (header
    names are compared in lower case: HTTP names are case-insensitive)."""
    if case_sensitive:
        return name in _strings(operation, lower=False)
    return name.lower() in _strings(operation, lower=True)
