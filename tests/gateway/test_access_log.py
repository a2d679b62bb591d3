"""The access log writes what ``logging`` would have written for ``nfyio.access``."""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import replace

from gateway.access_log import NAME, AccessLog
from gateway.config import Config
from gateway.logs import FORMAT

LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO nfyio\.access (.*)\n")


def test_line_has_the_logging_format() -> None:
    stream = io.StringIO()
    before = time.time()
    AccessLog(stream).line("request_id=abc status=200 ms=0.3")
    after = time.time()
    match = LINE.fullmatch(stream.getvalue())
    assert match is not None, stream.getvalue()
    assert match.group(2) == "request_id=abc status=200 ms=0.3"
    # the stamp is what logging's default formatter prints for a moment in between
    record = logging.LogRecord(NAME, logging.INFO, __file__, 1, "m", None, None)
    formatter = logging.Formatter(FORMAT)
    stamps = set()
    for moment in (before, after):
        record.created, record.msecs = moment, int((moment - int(moment)) * 1000)
        stamps.add(formatter.format(record).split(" INFO ")[0])
    assert min(stamps) <= match.group(1) <= max(stamps)


def test_lines_follow_the_clock_across_seconds() -> None:
    stream = io.StringIO()
    log = AccessLog(stream)
    log.line("one")
    time.sleep(1.05)
    log.line("two")
    first, second = (LINE.fullmatch(line + "\n") for line in stream.getvalue().splitlines())
    assert first is not None and second is not None
    assert first.group(1)[:19] < second.group(1)[:19]


def test_off_when_disabled_or_below_the_log_level() -> None:
    config = Config()
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.INFO)
        assert AccessLog.for_config(config) is not None
        off = replace(config, server=replace(config.server, access_log=False))
        assert AccessLog.for_config(off) is None
        root.setLevel(logging.WARNING)
        assert AccessLog.for_config(config) is None
    finally:
        root.setLevel(level)
