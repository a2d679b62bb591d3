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

from gateway.config import ENV_ALIASES, Config, ConfigError, load_config

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

CLIENT_VARIABLES = frozenset(
    {
        "NFYIO_API_URL",  # the REST examples' API listener
        "NFYIO_BUCKET",  # the examples' bucket
        "NFYIO_ADMIN_SECRET",  # examples/oauth-flow.sh
        "NFYIO_OAUTH_USER",
        "NFYIO_OAUTH_PASSWORD",
        "NFYIO_FUZZ",  # the fuzz tests' budget (docs/security.md)
        "NFYIO_SCREENSHOT_DIR",  # the console's browser tests (docs/console.md)
    }
)
"""Variables the docs name that configure the project's clients, not the gateway."""

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
    assert named - set(ENV_ALIASES) - set(LONG_NAMES) == {"NFYIO_UPSTREAM_ENDPOINT_URL"}
    with pytest.raises(ConfigError, match="NFYIO_UPSTREAM_ENDPOINT_URL"):
        load_config(env={"NFYIO_UPSTREAM_ENDPOINT_URL": "http://127.0.0.1:9000"})


def test_every_variable_the_docs_name_is_read_by_the_gateway() -> None:
    """A variable named in README.md, docs/*.md or ``config/gateway.toml`` is a short form,
    an ``NFYIO_<SECTION>_<OPTION>`` name, a family (``NFYIO_AUTH_*``) of them, a client's
    (the examples', the tests'), or the misspelling the file shows being refused."""
    families = {f"NFYIO_{section.upper()}" for section in OPTIONS}
    families |= {"_".join(name.split("_")[:2]) for name in ENV_ALIASES}  # NFYIO_ROOT_*
    known = set(ENV_ALIASES) | set(LONG_NAMES) | CLIENT_VARIABLES
    wrong = []
    for page, text in _pages():
        for match in _VARIABLE.finditer(text):
            name = match[0].removesuffix("_*").removesuffix("_<")
            if match[1]:
                ok = name in families
            else:
                ok = name in known or name == "NFYIO_UPSTREAM_ENDPOINT_URL"
            if not ok:
                wrong.append(f"{page}:{text.count(chr(10), 0, match.start()) + 1} {match[0]}")
    assert not wrong


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
