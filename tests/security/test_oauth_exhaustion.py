"""Unauthenticated OAuth requests cannot starve storage: a bounded hashing queue that sheds
load with 429, failed client authentication throttled per address, GETs still served."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway, get_json
from tests.e2e.oauth_util import Reply, basic, call, make_setup
from tests.security.dos_util import start_limited

_addresses = itertools.count(1)


def _address() -> str:
    """A client address of its own (the gateway trusts X-Forwarded-For here), so tests
    do not share throttle buckets."""
    n = next(_addresses)
    return f"198.18.{n // 250}.{n % 250 + 1}"


def _bad_token_request(gateway: Gateway, address: str, path: str = "/oauth/token") -> Reply:
    return call(
        f"{gateway.api_url}{path}",
        "POST",
        form={"grant_type": "client_credentials", "token": "x"},
        headers={
            **basic(f"cl_{uuid.uuid4().hex[:8]}", "wrong-secret"),
            "X-Forwarded-For": address,
        },
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_limited(
        Path(tmp_path_factory.mktemp("oauth-dos")) / "data",
        {
            "NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true",
            "NFYIO_AUTH_HASH_THREADS": "1",
            "NFYIO_AUTH_HASH_QUEUE": "2",
            # A first block of a minute (the default is a second): the requests after the
            # fifth failure all land in it however slowly a loaded machine answers them
            # (the block starts when the fifth attempt is reserved, before its hash).
            "NFYIO_AUTH_THROTTLE_BASE_DELAY": "60",
        },
    )
    yield running
    running.stop()


def test_full_hashing_queue_answers_429_temporarily_unavailable(gateway: Gateway) -> None:
    with ThreadPoolExecutor(40) as pool:
        replies = list(pool.map(lambda _: _bad_token_request(gateway, _address()), range(40)))
    statuses = Counter(reply.status for reply in replies)
    assert set(statuses) <= {401, 429}, statuses
    shed = [reply for reply in replies if reply.status == 429]
    assert shed, "40 concurrent hashes with one thread and a queue of 2: some must be shed"
    # The API's own description names the code (it used to leave it out of the enum).
    _, document = get_json(f"{gateway.api_url}/v1/openapi.json")
    codes = document["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"]
    for reply in shed:
        assert reply.json()["error"] == "temporarily_unavailable"
        assert reply.json()["error"] in codes
        assert int(reply.headers["Retry-After"]) >= 1
        assert reply.headers["Cache-Control"] == "no-store"


def test_failed_client_authentication_is_throttled_per_address(gateway: Gateway) -> None:
    setup = make_setup(gateway, grant_types=["client_credentials"])
    address = _address()
    statuses = [_bad_token_request(gateway, address).status for _ in range(5)]
    assert statuses == [401] * 5
    # the sixth failure from that address is refused before any hash, on every endpoint
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        reply = _bad_token_request(gateway, address, path)
        assert reply.status == 429, (path, reply.body)
        assert reply.json()["error"] == "slow_down"
        assert int(reply.headers["Retry-After"]) >= 1
    # the address is blocked even for a client that knows its secret ...
    good = {"grant_type": "client_credentials", **setup.creds()}
    blocked = call(
        f"{gateway.api_url}/oauth/token", "POST", form=good, headers={"X-Forwarded-For": address}
    )
    assert blocked.status == 429
    # ... while other addresses are not affected
    other = call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form=good,
        headers={"X-Forwarded-For": _address()},
    )
    assert other.status == 200, other.body


def test_get_completes_during_an_unauthenticated_oauth_flood(tmp_path: Path) -> None:
    """150 concurrent bad token requests (each from another address, so the throttle does
    not help) with the default hashing limits: a 1 MiB GET is served, the flood is shed
    with 429s, nothing answers 5xx. (Latency is measured by tests/perf/bench_dos.py.)"""
    gateway = start_limited(tmp_path / "data", {"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"})
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def flood() -> None:
        while not stop.is_set():
            status = _bad_token_request(gateway, _address()).status
            with lock:
                statuses[status] += 1

    try:
        client = gateway.client()
        client.create_bucket(Bucket="flood")
        body = bytes(range(256)) * 4096
        client.put_object(Bucket="flood", Key="one-mib", Body=body)
        threads = [threading.Thread(target=flood, daemon=True) for _ in range(150)]
        for thread in threads:
            thread.start()
        time.sleep(3)  # the flood is under way
        for _ in range(3):
            got = client.get_object(Bucket="flood", Key="one-mib")["Body"].read()
            assert got == body
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[429] > 0, statuses
    finally:
        stop.set()
        gateway.stop()
