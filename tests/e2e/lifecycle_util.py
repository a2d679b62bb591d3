"""Gateways whose lifecycle "day" is one second (``NFYIO_LIFECYCLE_DAY_SECONDS``) and whose
sweeper passes every 0.2 s, so that rules take effect within seconds, and the waits of
the tests that watch them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import upstream_env
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.services.seaweedfs import SeaweedFS

SHORT_DAYS = {
    "NFYIO_LIFECYCLE_DAY_SECONDS": "1",
    "NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.2",
    # Renewed at every pass; a minute is longer than any pause of a worker on a loaded
    # machine, so the other worker never takes the lease over (one holder is asserted).
    "NFYIO_LIFECYCLE_LEASE_SECONDS": "60",
}
WAIT = 30.0
"""The longest a test waits for the sweeper to do what a rule says."""

BACKENDS = ("filesystem", "filesystem-2-workers", "moto", "seaweedfs")


def swept_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Gateway]:
    """A fixture's gateway with ``SHORT_DAYS`` on the backend ``request.param`` (one of
    ``BACKENDS``: the s3 backend in front of moto or of SeaweedFS)."""
    env, args = dict(SHORT_DAYS), []
    if request.param == "filesystem-2-workers":
        args = ["--workers", "2"]
    elif request.param == "moto":
        env.update(upstream_env(request.getfixturevalue("moto_upstream")))
    elif request.param == "seaweedfs":
        weed: SeaweedFS = request.getfixturevalue("seaweedfs")
        env.update(upstream_env(weed.endpoint_url, weed.access_key, weed.secret_key))
    else:
        assert request.param == "filesystem", request.param
    yield from own_gateway(tmp_path_factory, name, extra_env=env, extra_args=args)


def new_bucket(s3: Any, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def eventually(check: Callable[[], bool], what: str, gateway: Gateway) -> None:
    """Wait up to ``WAIT`` for ``check``; else fail with the gateway's log's end."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {WAIT} s\n{gateway.log()[-3000:]}")


def keys(s3: Any, bucket: str) -> list[str]:
    """The bucket's current keys (one page)."""
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def rule(rule_id: str, prefix: str, **actions: Any) -> dict[str, Any]:
    """An enabled lifecycle rule on ``prefix`` with ``actions`` (``Expiration=...``)."""
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}
