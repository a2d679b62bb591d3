"""IAM wildcard patterns: ``*`` (any run of characters, ``/`` included), ``?`` (any one
character) and, in 2012-10-17 policies, policy variables such as ``${aws:username}``,
with or without a default value (``${aws:username, 'guest'}``).

A pattern is parsed once into tokens. Patterns without variables compile up front;
patterns with variables compile per request after substitution (the substituted text is
literal: a ``*`` in a user name, or in a default, matches only a ``*``). A variable whose
key has no value in the request takes its default; without a default it matches nothing.

Matching never backtracks: the pattern is cut at its ``*`` into runs of fixed length
(literal characters and ``?``), the first run must start the value, the last end it, and
each run between is found at its leftmost place after the previous one, which is where a
match exists if any does. Cost: a search per run, each at most the value's length times
the run's. One regular expression of the whole pattern (each ``*`` a ``.*``) backtracked
through every split of the value: ``arn:aws:s3:::b/*/*/*/*.png`` against a key of 1,020
slashes took about two minutes of one worker's event loop, any anonymous client's to ask
(``tests/security/test_wildcard_backtracking.py``).

A run of literal characters in a case-sensitive pattern (the usual ``StringLike`` value) is
looked for with ``str.startswith`` / ``str.endswith`` / ``str.find``: the same one leftmost
search, without the expression engine (1.1 to 4.4 times faster on an 8 KB value, by how
often the run's first character occurs in it). A run holding ``?``, or of an
``...IgnoreCase`` pattern, stays an expression: ``str.lower`` can change a value's length
(``İ`` becomes two characters), so lowering both sides is not ``re.IGNORECASE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

__all__ = ["Glob", "Resolver", "VariableError", "parse_glob"]

Kind = Literal["lit", "star", "one", "var"]
Token = tuple[Kind, str]
"""``("lit", one character)``, ``("star", "")``, ``("one", "")`` or ``("var", key)``."""

Resolver = Callable[[str], str | None]
"""A policy variable's value in the request, or None when the request has none."""

Run = tuple[re.Pattern[str], int, str | None]
"""A part of a pattern between two ``*``: its expression (escaped literal characters, ``.``
for ``?``: no quantifier, so it matches a fixed number of characters), that number, and
its text when it is literal characters matched case-sensitively (None otherwise)."""
Piece = tuple[str, int, str | None] | None
"""One token as an expression, the characters it matches and its literal text (None for
``?``); None for ``*``."""

_ESCAPED = frozenset("*?$")
"""``${*}``, ``${?}`` and ``${$}`` stand for the literal character."""


class VariableError(ValueError):
    """A ``${...}`` that names no known policy variable, or whose default is malformed."""


@dataclass(frozen=True, slots=True)
class Glob:
    text: str
    tokens: tuple[Token, ...]
    ignore_case: bool = False
    defaults: tuple[str | None, ...] = ()
    """One per ``("var", key)`` token, in order: the variable's default value (literal
    text, used when the request has no value for the key), or None when it has none."""
    _runs: tuple[Run, ...] | None = field(default=None, compare=False, repr=False)
    """Set when no variable needs the request: the compiled runs (module doc)."""
    _prefix: str | None = field(default=None, compare=False, repr=False)
    """Set for a case-sensitive pattern of literal characters and one final ``*`` (most
    resources: ``arn:aws:s3:::bucket/*``), which matches by ``startswith``."""
    _exact: str | None = field(default=None, compare=False, repr=False)
    """Set for a case-sensitive pattern of literal characters only: ``==``."""

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(value for kind, value in self.tokens if kind == "var")

    @property
    def has_wildcard(self) -> bool:
        return any(kind in ("star", "one") for kind, _ in self.tokens)

    @property
    def is_fixed(self) -> bool:
        """No wildcard and no variable: the pattern names exactly one value."""
        return not self.has_wildcard and not self.variables

    @property
    def literal(self) -> tuple[str | None, str | None]:
        """(the prefix, the value) when the pattern matches by ``str.startswith`` (literal
        characters and one final ``*``) or by ``==`` (literal characters only); (None,
        None) for any other pattern. Case-sensitive patterns only."""
        return self._prefix, self._exact

    def widened(self) -> Glob:
        """The same pattern with each variable read as ``*`` (any value it could take: a
        variable with a default takes its default or the request's value, both text)."""
        if not self.variables:
            return self
        tokens: tuple[Token, ...] = tuple(
            ("star", "") if kind == "var" else (kind, t) for kind, t in self.tokens
        )
        return _finish(Glob(self.text, tokens, self.ignore_case))

    def matches(self, value: str, resolve: Resolver | None = None) -> bool:
        if self._prefix is not None:
            return value.startswith(self._prefix)
        if self._exact is not None:
            return value == self._exact
        if self._runs is not None:
            return _match(self._runs, value)
        pieces: list[Piece] = []
        defaults = self.defaults
        variable = -1
        for kind, text in self.tokens:
            if kind == "var":
                variable += 1
                found = resolve(text) if resolve is not None else None
                if found is None:  # IAM: the default, else the variable matches nothing
                    found = defaults[variable] if variable < len(defaults) else None
                    if found is None:
                        return False
                pieces.append((re.escape(found), len(found), found))
            else:
                pieces.append(_piece(kind, text))
        return _match(_runs(pieces, self.ignore_case), value)

    def could_match_prefix(self, prefix: str) -> bool:
        """Whether some value starting with ``prefix`` matches (a variable counts as ``*``,
        default or not: :meth:`widened`)."""
        tokens = self.tokens
        states = _closure({0}, tokens)
        for char in prefix:
            nxt: set[int] = set()
            for i in states:
                if i == len(tokens):
                    continue
                kind, text = tokens[i]
                if kind in ("star", "var"):
                    nxt.add(i)
                elif kind == "one" or _same(text, char, ignore_case=self.ignore_case):
                    nxt.add(i + 1)
            states = _closure(nxt, tokens)
            if not states:
                return False
        return True


def _same(a: str, b: str, *, ignore_case: bool) -> bool:
    return a.lower() == b.lower() if ignore_case else a == b


def _closure(states: set[int], tokens: tuple[Token, ...]) -> set[int]:
    """Add the positions reachable by letting ``*`` (and variables) match nothing."""
    out = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(tokens) and tokens[i][0] in ("star", "var") and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out


def _piece(kind: Kind, text: str) -> Piece:
    if kind == "star":
        return None
    if kind == "one":
        return (".", 1, None)
    return (re.escape(text), 1, text)


def _runs(pieces: list[Piece], ignore_case: bool) -> tuple[Run, ...]:
    """The runs between the ``*`` of a pattern (one more than it has ``*``)."""
    sources: list[list[str]] = [[]]
    texts: list[list[str] | None] = [[]]
    lengths = [0]
    for piece in pieces:
        if piece is None:
            sources.append([])
            texts.append([])
            lengths.append(0)
            continue
        expression, length, literal = piece
        sources[-1].append(expression)
        lengths[-1] += length
        text = texts[-1]
        if literal is None or ignore_case:
            texts[-1] = None
        elif text is not None:
            text.append(literal)
    return tuple(
        (
            _compiled("".join(source), ignore_case),
            length,
            None if text is None else "".join(text),
        )
        for source, text, length in zip(sources, texts, lengths, strict=True)
    )


def _match(runs: tuple[Run, ...], value: str) -> bool:
    """Whether ``value`` is the first run, anything, each middle run in order, anything,
    the last run: each middle run taken at its leftmost place (module doc)."""
    first, first_length, first_text = runs[0]
    if len(runs) == 1:
        if first_text is not None:
            return value == first_text
        return len(value) == first_length and first.match(value) is not None
    last, last_length, last_text = runs[-1]
    end = len(value) - last_length
    if end < first_length:
        return False
    if not (value.startswith(first_text) if first_text is not None else first.match(value)):
        return False
    if not (value.endswith(last_text) if last_text is not None else last.match(value, end)):
        return False
    position = first_length
    for run, length, text in runs[1:-1]:
        if not length:
            continue
        if text is not None:
            at = value.find(text, position, end)
            if at < 0:
                return False
            position = at + length
        else:
            found = run.search(value, position, end)
            if found is None:
                return False
            position = found.end()
    return True


@lru_cache(maxsize=4096)
def _compiled(source: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


_STAR: Token = ("star", "")
_ONE: Token = ("one", "")
_ASCII: dict[str, Token] = {chr(c): ("lit", chr(c)) for c in range(128)}
"""One shared token per ASCII character: a pattern keeps a token per character, and a
tuple of its own for each cost 64 bytes a character (a 20 KiB policy kept 550 KiB)."""


def _literal_tokens(text: str, *, wildcards: bool = True) -> list[Token]:
    out: list[Token] = []
    for char in text:
        if wildcards and char == "*":
            out.append(_STAR)
        elif wildcards and char == "?":
            out.append(_ONE)
        else:
            out.append(_ASCII.get(char) or ("lit", char))
    return out


def parse_glob(
    text: str,
    *,
    ignore_case: bool = False,
    variables: bool = False,
    wildcards: bool = True,
    is_known_variable: Callable[[str], bool] | None = None,
) -> Glob:
    """Parse a pattern. With ``variables`` (2012-10-17 policies) ``${key}`` and
    ``${key, 'default'}`` are policy variables (:func:`_variables`); a key
    ``is_known_variable`` refuses, or a malformed default, raises :class:`VariableError`.
    Without ``wildcards`` (StringEquals values) ``*`` and ``?`` are literal characters."""
    tokens: list[Token] = []
    defaults: list[str | None] = []
    pos = 0
    if variables:
        for start, end, name, default in _variables(text):
            tokens.extend(_literal_tokens(text[pos:start], wildcards=wildcards))
            if name in _ESCAPED and default is None:
                tokens.append(("lit", name))
            elif (
                not name
                or name in _ESCAPED
                or (is_known_variable is not None and not is_known_variable(name))
            ):
                raise VariableError(name)
            else:
                tokens.append(("var", name))
                defaults.append(default)
            pos = end
    tokens.extend(_literal_tokens(text[pos:], wildcards=wildcards))
    return _finish(Glob(text, tuple(tokens), ignore_case, tuple(defaults)))


def _variables(text: str) -> Iterator[tuple[int, int, str, str | None]]:
    """Each ``${...}`` of ``text``: (where it starts, where it ends, its key with the
    spaces around it stripped, its default or None).

    ``${`` opens a variable that the first ``}`` after it closes, unless a comma comes
    first: the key is the text before the comma, then (spaces around it ignored) a
    default in single quotes, in which ``''`` stands for one ``'`` and anything else,
    ``}`` and ``${`` included, is literal text (substitution is one round), and then the
    ``}``. A default that is not so (no quotes, an unterminated quote, text after the
    closing quote) raises :class:`VariableError`. A ``${`` no ``}`` follows is text."""
    pos = 0
    while True:
        start = text.find("${", pos)
        if start < 0:
            return
        close = text.find("}", start + 2)
        if close < 0:
            return
        comma = text.find(",", start + 2, close)
        if comma < 0:
            yield start, close + 1, text[start + 2 : close].strip(), None
            pos = close + 1
            continue
        default, pos = _quoted_default(text, comma + 1, text[start:close])
        yield start, pos, text[start + 2 : comma].strip(), default


def _quoted_default(text: str, at: int, shown: str) -> tuple[str, int]:
    """The default starting at ``text[at]`` (after the comma) and where its variable ends
    (past the ``}``); ``shown`` names the variable in the error."""
    at = _skip_spaces(text, at)
    if at >= len(text) or text[at] != "'":
        raise VariableError(shown)
    out: list[str] = []
    at += 1
    while True:
        quote = text.find("'", at)
        if quote < 0:
            raise VariableError(shown)  # unterminated
        out.append(text[at:quote])
        if text.startswith("''", quote):
            out.append("'")
            at = quote + 2
            continue
        at = _skip_spaces(text, quote + 1)
        if at >= len(text) or text[at] != "}":
            raise VariableError(shown)
        return "".join(out), at + 1


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def _finish(glob: Glob) -> Glob:
    """Compile the runs once when no variable needs the request; note the
    literal text of a case-sensitive pattern that is a plain prefix or a plain value."""
    if not glob.variables:
        pieces = [_piece(kind, t) for kind, t in glob.tokens]
        object.__setattr__(glob, "_runs", _runs(pieces, glob.ignore_case))
        tokens = glob.tokens
        if not glob.ignore_case:
            ends_in_star = bool(tokens) and tokens[-1][0] == "star"
            body = tokens[:-1] if ends_in_star else tokens
            if all(kind == "lit" for kind, _ in body):
                literal = "".join(text for _, text in body)
                object.__setattr__(glob, "_prefix" if ends_in_star else "_exact", literal)
    return glob
