"""The descriptor budget behind ``server.max_connections = 0`` and rate-limited logging."""

from __future__ import annotations

import logging

import pytest

from gateway.config import ServerConfig
from gateway.ratelog import RateLimitedLog
from gateway.server import AUTO_MAX_CONNECTIONS, connection_limits


@pytest.mark.parametrize("fd_limit", [128, 256, 1024, 20_000, 1 << 20])
def test_automatic_cap_fits_the_descriptor_limit(fd_limit: int) -> None:
    limits = connection_limits(ServerConfig(), fd_limit)
    # two listeners: S3 connections may hold a data file each, plus accept bursts
    needed = 3 * limits.max_connections + 4 * limits.backlog
    assert needed <= fd_limit or limits.max_connections == 16
    assert limits.max_connections <= AUTO_MAX_CONNECTIONS


def test_explicit_values_are_kept() -> None:
    server = ServerConfig(max_connections=50, max_connections_per_address=5, header_timeout=7)
    limits = connection_limits(server, 20_000)
    assert (limits.max_connections, limits.max_per_address, limits.header_timeout) == (50, 5, 7)


def test_rate_limited_log_reports_what_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("t"), 10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        for i in range(500):
            log.event("flood", f"event {i}")
        now[0] = 11
        log.flush()
        log.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "event 0",
        "flood: 499 more in the last 10 s (last: event 499)",
    ]
