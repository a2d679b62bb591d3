"""Form bodies and client authentication of the OAuth endpoints (RFC 6749 2.3.1, 3.2)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web

from gateway.identity.clients import OAuthClient
from gateway.identity.store import IdentityStore
from gateway.oauth.errors import OAuthError, invalid_client

__all__ = ["Form", "authenticate_client", "read_form"]

_MAX_FORM = 64 * 1024


@dataclass(frozen=True, slots=True)
class Form:
    """Parameters of an ``application/x-www-form-urlencoded`` body, each at most once."""

    values: dict[str, str]

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise OAuthError("invalid_request", f"The '{name}' parameter is required")
        return value


async def read_form(request: web.Request) -> Form:
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded")
    if request.content_length is not None and request.content_length > _MAX_FORM:
        raise OAuthError("invalid_request", "The request body is too large")
    raw = await request.content.read(_MAX_FORM + 1)
    if len(raw) > _MAX_FORM:
        raise OAuthError("invalid_request", "The request body is too large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "The body is not valid form data") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            # RFC 6749 3.2: parameters must not be included more than once.
            raise OAuthError("invalid_request", f"The '{name}' parameter is repeated")
        values[name] = value
    return Form(values)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Use HTTP Basic or client_secret_post client authentication")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("Malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("Malformed Basic credentials")
    # RFC 6749 2.3.1: both parts are form-encoded before joining with ':'.
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(
    request: web.Request, form: Form, store: IdentityStore
) -> OAuthClient:
    """The client from HTTP Basic (``client_secret_basic``) or the body
    (``client_secret_post``); using both at once is ``invalid_request``."""
    basic = _basic_credentials(request)
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None:
        if body_secret is not None:
            raise OAuthError(
                "invalid_request", "Use one client authentication method, not Basic and body"
            )
        if body_id is not None and body_id != basic[0]:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        client_id, secret = basic
    elif body_id is not None and body_secret is not None:
        client_id, secret = body_id, body_secret
    elif body_id is not None:
        raise invalid_client("Confidential clients must authenticate (client_secret)")
    else:
        raise invalid_client("Client authentication is required")
    client = await store.clients.authenticate(client_id, secret)
    if client is None:
        raise invalid_client("Unknown client or wrong client secret")
    return client
