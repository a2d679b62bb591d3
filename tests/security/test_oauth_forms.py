"""OAuth form bodies are read whole, however the client's bytes are segmented, up to the
limit; a larger body is refused (raw sockets: the segmentation is the point)."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import Setup, make_setup
from tests.security.dos_util import connect, read_response, start_limited

FORM_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_limited(Path(tmp_path_factory.mktemp("forms")) / "data", {})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def setup(gateway: Gateway) -> Setup:
    return make_setup(
        gateway,
        client_scopes=["read:buckets", "read:objects", "write:objects"],
        grant_types=["client_credentials"],
    )


def _head(length: int | None) -> bytes:
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return (
        "POST /oauth/token HTTP/1.1\r\nHost: gw\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


def _credentials(setup: Setup) -> bytes:
    return urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": setup.client_id,
            "client_secret": setup.client_secret,
        }
    ).encode()


def test_scope_in_a_second_segment_narrows_the_grant(gateway: Gateway, setup: Setup) -> None:
    first = _credentials(setup) + b"&"
    second = b"scope=read%3Abuckets"
    with connect(gateway.api_port) as sock:
        sock.sendall(_head(len(first) + len(second)) + first)
        time.sleep(0.5)  # two TCP segments, the second well after the first
        sock.sendall(second)
        status, _, body = read_response(sock)
    assert status == 200, body
    assert json.loads(body)["scope"] == "read:buckets"


def test_body_over_the_limit_is_refused_however_it_arrives(gateway: Gateway, setup: Setup) -> None:
    padding = b"&pad=" + b"p" * FORM_LIMIT
    payload = _credentials(setup) + padding
    with connect(gateway.api_port) as sock:
        sock.sendall(_head(None))
        for start in range(0, len(payload), 8192):
            piece = payload[start : start + 8192]
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            time.sleep(0.05)
        sock.sendall(b"0\r\n\r\n")
        status, headers, body = read_response(sock)
    assert status == 400, body
    assert json.loads(body)["error"] == "invalid_request"
    assert headers["cache-control"] == "no-store"


def test_declared_length_over_the_limit_is_refused_before_reading(gateway: Gateway) -> None:
    with connect(gateway.api_port) as sock:
        sock.sendall(_head(FORM_LIMIT + 1))
        status, _, body = read_response(sock)
    assert status == 400
    assert json.loads(body)["error"] == "invalid_request"


def test_body_at_the_limit_in_many_segments_is_read_whole(gateway: Gateway, setup: Setup) -> None:
    credentials = _credentials(setup)
    scope = b"&scope=read%3Aobjects"
    padding = b"&pad=" + b"p" * (FORM_LIMIT - len(credentials) - len(scope) - 5)
    payload = credentials + padding + scope
    assert len(payload) == FORM_LIMIT
    with connect(gateway.api_port) as sock:
        sock.sendall(_head(len(payload)))
        for start in range(0, len(payload), 16384):
            sock.sendall(payload[start : start + 16384])
            time.sleep(0.05)
        status, _, body = read_response(sock)
    assert status == 200, body
    assert json.loads(body)["scope"] == "read:objects"
