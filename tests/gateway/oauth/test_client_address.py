"""Which address the password-grant throttle counts."""

from __future__ import annotations

import dataclasses

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.config import Config, ServerConfig
from gateway.oauth.token_endpoint import client_address
from gateway.state import CONFIG


def _request(*, trusted: bool, forwarded: str | None) -> web.Request:
    app = web.Application()
    app[CONFIG] = dataclasses.replace(
        Config(), server=ServerConfig(trusted_forwarded_headers=trusted)
    )
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    return make_mocked_request("POST", "/oauth/token", headers=headers, app=app)


def test_untrusted_forwarded_header_is_ignored() -> None:
    request = _request(trusted=False, forwarded="203.0.113.9")
    assert client_address(request) != "203.0.113.9"


def test_trusted_proxy_gives_the_last_hop() -> None:
    request = _request(trusted=True, forwarded="198.51.100.1, 203.0.113.9")
    assert client_address(request) == "203.0.113.9"


def test_trusted_proxy_without_header_falls_back_to_the_peer() -> None:
    request = _request(trusted=True, forwarded=None)
    assert client_address(request) == (request.remote or "unknown")
