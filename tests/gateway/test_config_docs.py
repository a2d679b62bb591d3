"""The configuration as the documentation tells it: ``config/gateway.toml`` (every option,
with its default), the ``NFYIO_*`` variables and the defaults README.md and docs/*.md name.
Each test fails when the two drift apart."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import (
    CLIENT_VARIABLES,
    ENV_ALIASES,
    Config,
    ConfigError,
    ignored_variables,
    load_config,
)

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = (REPO / "config" / "gateway.toml").read_text()
PAGES = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))

DEFAULTS = Config()
OPTIONS: dict[str, dict[str, Any]] = {
    section.name: {
        option.name: getattr(getattr(DEFAULTS, section.name), option.name)
        for option in dataclasses.fields(getattr(DEFAULTS, section.name))
    }
    for section in dataclasses.fields(Config)
}
LONG_NAMES = {
    f"NFYIO_{section}_{option}".upper(): (section, option)
    for section, options in OPTIONS.items()
    for option in options
}

WRONG_NAMES = {
    "NFYIO_UPSTREAM_ENDPOINT_URL": "refused",
    "NFYIO_STORAGE_FSNC": "refused",
    "NFYIO_FSNC": "refused",
    "NFYIO_WORKER": "refused",
    "NFYIO_SERVR_WORKERS": "refused",
    "NFYIO_DEBUG": "warned",
    "NFYIO_SERVICE_HOST": "ignored",
    "NFYIO_PORT": "ignored",
    "NFYIO_PORT_7007_TCP": "ignored",  # written NFYIO_PORT_7007_TCP_*
}
"""The names the docs show as what the gateway does with a name that is no setting
(docs/deploy.md, "Environment"; the header of ``config/gateway.toml``), and what that is."""

_VARIABLE = re.compile(r"(?<![A-Za-z0-9_$])NFYIO_[A-Z0-9_]*[A-Z0-9](_\*|_<)?")


def _pages() -> Iterator[tuple[str, str]]:
    yield "config/gateway.toml", DOCUMENTED
    for page in PAGES:
        yield str(page.relative_to(REPO)), page.read_text()


def test_the_documented_file_lists_every_option_and_nothing_else() -> None:
    """``config/gateway.toml`` is the complete reference (README.md, docs/deploy.md point
    to it): every option of every section, as a setting or, for an option without a
    default, a commented-out example."""
    listed: dict[str, set[str]] = {}
    section = ""
    for line in DOCUMENTED.splitlines():
        if match := re.fullmatch(r"\[(\w+)\]", line):
            section = match[1]
            listed[section] = set()
        elif match := re.match(r"(# ?)?([a-z][a-z0-9_]*) = ", line):
            assert section, line
            listed[section].add(match[2])
            if match[1]:
                assert OPTIONS[section].get(match[2]) in (None, ()), line
    assert {name: set(options) for name, options in OPTIONS.items()} == listed


def test_the_documented_file_names_every_short_variable() -> None:
    """The header of ``config/gateway.toml`` names each short form of ``ENV_ALIASES``
    (the ``[backend]`` ones as ``NFYIO_UPSTREAM_<OPTION>``), and only real ones."""
    header = DOCUMENTED.split("\n[", 1)[0]
    named = {match[0] for match in _VARIABLE.finditer(header) if not match[1]}
    for variable, (section, option) in ENV_ALIASES.items():
        by_pattern = section == "backend" and variable == f"NFYIO_UPSTREAM_{option.upper()}"
        assert variable in named or by_pattern, variable
    assert named - set(ENV_ALIASES) - set(LONG_NAMES) <= set(WRONG_NAMES)


def _names(text: str) -> Iterator[tuple[str, bool, int]]:
    """(name, whether it is a family written ``NAME_*`` or ``NAME_<...>``, offset)."""
    for match in _VARIABLE.finditer(text):
        yield match[0].removesuffix("_*").removesuffix("_<"), bool(match[1]), match.start()


def test_every_variable_the_docs_name_is_read_by_the_gateway() -> None:
    """A variable named in README.md, docs/*.md or ``config/gateway.toml`` is a short form,
    an ``NFYIO_<SECTION>_<OPTION>`` name, a family (``NFYIO_AUTH_*``) of them, a client's
    (the examples', the tests'), or one the docs show being refused or ignored."""
    families = {f"NFYIO_{section.upper()}" for section in OPTIONS}
    families |= {"_".join(name.split("_")[:2]) for name in ENV_ALIASES}  # NFYIO_ROOT_*
    known = set(ENV_ALIASES) | set(LONG_NAMES) | CLIENT_VARIABLES | set(WRONG_NAMES)
    wrong = []
    for page, text in _pages():
        for name, family, at in _names(text):
            if name not in (families | set(WRONG_NAMES) if family else known):
                wrong.append(f"{page}:{text.count(chr(10), 0, at) + 1} {name}")
    assert not wrong


@pytest.mark.parametrize("name", sorted(WRONG_NAMES))
def test_names_the_docs_show_as_wrong_do_what_the_docs_say(name: str) -> None:
    variable = f"{name}_ADDR" if name.endswith("_TCP") else name
    env = {variable: "1"}
    if WRONG_NAMES[name] == "refused":
        with pytest.raises(ConfigError, match=variable):
            load_config(env=env)
        return
    load_config(env=env)
    assert ignored_variables(env) == ([variable] if WRONG_NAMES[name] == "warned" else [])


def test_the_examples_variables_are_never_refused_or_warned_of() -> None:
    """docs/deploy.md: the examples' ``NFYIO_*`` variables are exported in the shells
    that start the gateway, which neither refuses nor warns of them."""
    names = set()
    for script in (REPO / "examples").rglob("*"):
        if script.is_file() and script.suffix in {".sh", ".py", ".mjs", ".md"}:
            names |= {name for name, family, _ in _names(script.read_text()) if not family}
    clients = names - set(ENV_ALIASES) - set(LONG_NAMES)
    assert clients and clients <= CLIENT_VARIABLES, clients - CLIENT_VARIABLES
    env = dict.fromkeys(clients, "x")
    load_config(env=env)
    assert ignored_variables(env) == []


_UNITS = {
    "": 1,
    "s": 1,
    "bytes/s": 1,
    "bytes": 1,
    "h": 3600,
    "days": 86400,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)(?: (s|h|days|KiB|MiB|GiB|bytes/s|bytes)\b)?"
_OPTION = r"`(?P<section>[a-z0-9]+)\.(?P<option>[a-z0-9_]+)`"
_IN_PROSE = re.compile(_OPTION + r"(?: \(|, )(?:default )?" + _NUMBER + r"(?=[),;]| per )")
_TABLE_ROW = re.compile(r"^\| " + _OPTION + r" \| " + _NUMBER + r"(?=[ |(])", re.MULTILINE)
_SECTION_TABLE = re.compile(r"^\| option \(`\[(\w+)\]`\) \|.*\n\|[- |]+\n((?:\|.*\n)+)", re.M)


def _stated_defaults() -> Iterator[tuple[str, str, str, str, str]]:
    """(page, section, option, number, unit) of each default the docs state: in a table
    row that starts with the option, or in parentheses right after it."""
    for page, text in _pages():
        for pattern in (_IN_PROSE, _TABLE_ROW):
            for match in pattern.finditer(text):
                if match["section"] in OPTIONS:
                    yield page, match["section"], match["option"], match[3], match[4] or ""
        for table in _SECTION_TABLE.finditer(text):
            for row in re.finditer(r"^\| `([a-z0-9_]+)` \| " + _NUMBER, table[2], re.M):
                yield page, table[1], row[1], row[2], row[3] or ""


def test_defaults_the_docs_state_are_the_configuration_s() -> None:
    checked = 0
    wrong = []
    for page, section, option, number, unit in _stated_defaults():
        if option not in OPTIONS[section]:
            wrong.append(f"{page}: no option {section}.{option}")
            continue
        stated = float(number.replace(",", "")) * _UNITS[unit]
        if stated != OPTIONS[section][option]:
            wrong.append(f"{page}: {section}.{option} {number} {unit}")
        checked += 1
    assert not wrong
    assert checked >= 30  # the docs state this many: a parser that finds none is broken
