"""Requests that each open a new connection, so that the kernel spreads them over every
worker of a ``--workers N`` gateway (``SO_REUSEPORT``): for checks that a change made
through one worker applies to the next request on every worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway

ROUNDS = 16
"""Fresh connections per check: both workers of a two-worker gateway answer some."""


@contextmanager
def two_worker_gateway(data: Path) -> Iterator[Gateway]:
    gw = start_gateway(data, extra_args=["--workers", "2"])
    try:
        yield gw
    finally:
        gw.stop()


def answers(
    gw: Gateway,
    read: Callable[[Any], object],
    access_key: str | None = None,
    secret_key: str | None = None,
) -> set[object]:
    """``read(client)`` on ``ROUNDS`` new boto3 clients (one connection each): the set of
    what they returned, an S3 error as its code."""
    found: set[object] = set()
    for _ in range(ROUNDS):
        s3: Any = gw.client(access_key, secret_key, max_pool_connections=1)
        try:
            found.add(read(s3))
        except ClientError as exc:
            found.add(str(exc.response["Error"]["Code"]))
        finally:
            s3.close()
    return found
