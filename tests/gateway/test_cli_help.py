"""``nfyio-gateway --help`` and every command's help read as plain text: no
reStructuredText from a docstring (the top-level description was the module's
docstring, so the terminal showed ``The ``nfyio-gateway`` command line``)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator

from gateway.cli import build_parser

MARKUP = re.compile(r"``|:(?:func|class|mod|meth|attr|data):`")


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_the_commands_help_is_plain_text() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "nfyio-gateway" in out
    assert not MARKUP.search(out), out


def test_every_subcommands_help_is_plain_text() -> None:
    marked = {
        " ".join(path): found.group()
        for path, parser in _parsers(build_parser())
        if (found := MARKUP.search(parser.format_help()))
    }
    assert marked == {}
