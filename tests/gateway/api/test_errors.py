"""The one converter from exceptions to the ``/v1`` JSON envelope, and what reaches it."""

from __future__ import annotations

import json
import logging
from typing import Any, get_args

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from gateway.api.errors import ApiError, error_response
from gateway.auth.errors import AuthCode, AuthError
from tests.gateway.api.conftest import ADMIN, error_of

Client = TestClient[Any, Any]

REQUEST = make_mocked_request("POST", "/v1/access-keys")


def _envelope(response: web.Response) -> dict[str, Any]:
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    body = json.loads(response.body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


def test_api_error_keeps_status_code_details_and_headers() -> None:
    exc = ApiError(409, "Conflict", "Taken", {"field": "name"}, headers={"Retry-After": "1"})
    response = error_response(exc, REQUEST)
    assert response.status == 409 and response.headers["Retry-After"] == "1"
    assert _envelope(response) == {
        "code": "Conflict",
        "message": "Taken",
        "details": {"field": "name"},
    }


@pytest.mark.parametrize(
    ("code", "api_code"),
    [
        ("InvalidAccessKeyId", "InvalidApiKey"),
        ("InvalidToken", "InvalidToken"),
        ("UnsupportedAuthorization", "Unauthorized"),
    ],
)
def test_auth_errors_are_401_with_a_challenge(code: AuthCode, api_code: str) -> None:
    response = error_response(AuthError(code, "refused"), REQUEST)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert _envelope(response)["code"] == api_code


def test_every_auth_code_has_an_answer() -> None:
    for code in get_args(AuthCode):
        response = error_response(AuthError(code, "x"), REQUEST)
        # a credential given twice is a malformed request (RFC 6750 3.1), not a bad one
        assert response.status == (400 if code == "AmbiguousCredential" else 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_aiohttp_errors_keep_their_status_and_allow_header() -> None:
    response = error_response(web.HTTPMethodNotAllowed("PATCH", ["GET", "POST"]), REQUEST)
    assert response.status == 405 and response.headers["Allow"] == "GET,POST"
    assert _envelope(response)["code"] == "MethodNotAllowed"
    too_large = web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2)
    response = error_response(too_large, REQUEST)
    assert response.status == 413 and _envelope(response)["code"] == "PayloadTooLarge"


def test_a_bug_is_a_logged_500_that_tells_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nfyio.api"):
        response = error_response(RuntimeError("sk_secret in a bug"), REQUEST)
    assert response.status == 500
    assert _envelope(response) == {
        "code": "InternalError",
        "message": "Internal server error",
        "details": {},
    }
    assert response.text is not None and "sk_secret" not in response.text
    assert any(record.exc_info for record in caplog.records)


def test_a_bugs_log_line_names_the_raw_path(caplog: pytest.LogCaptureFixture) -> None:
    """A percent-encoded line break or ANSI escape in the path stays encoded in the log:
    decoded, it forged a second log line (or recoloured the terminal) of the client's
    choosing on every 500."""
    path = "/v1/users/u%0a2026-12-05%2000:00:00,000%20INFO%20nfyio.access%20forged%1b[2J"
    with caplog.at_level(logging.ERROR, logger="nfyio.api"):
        error_response(RuntimeError("bug"), make_mocked_request("DELETE", path))
    (message,) = [r.getMessage() for r in caplog.records if r.name == "nfyio.api"]
    assert message.startswith("internal error on DELETE /v1/users/u%0A2026"), message
    assert "\n" not in message and "\x1b" not in message


async def test_router_and_body_limit_errors_reach_the_converter(api: Client) -> None:
    assert (await error_of(await api.get("/v1/nothing"), 404))["code"] == "NotFound"
    response = await api.put("/v1/me", headers=ADMIN)
    assert (await error_of(response, 405))["code"] == "MethodNotAllowed"
    assert response.headers["Allow"] == "GET,HEAD"  # a /v1 GET row answers HEAD too
    big = b'{"name": "' + b"x" * (1024**2 + 1) + b'"}'
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await api.post("/v1/access-keys", data=big, headers=headers)
    assert (await error_of(response, 413))["code"] == "PayloadTooLarge"
