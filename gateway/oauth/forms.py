"""Form bodies and client authentication of the OAuth endpoints (RFC 6749 2.3.1, 3.2).

Client authentication costs a scrypt (the secret is stored as a slow hash), and the three
endpoints that do it are reachable without credentials. So:

- every hash goes through the process's :class:`~gateway.executors.HashGate` (its own
  small thread pool and a bounded queue); when the queue is full the request is refused
  with ``429 {"error": "temporarily_unavailable"}`` and ``Retry-After`` before any work;
- failed client authentications count against the caller's address in the same throttle
  (and with the same policy) as failed passwords, in a bucket of their own
  (``client-ip:<address>``, so users mistyping passwords do not block a resource
  server's introspection from the same address, nor the reverse): once blocked, the
  address gets ``429 {"error": "slow_down"}`` with ``Retry-After`` before any secret is
  hashed. The client id is deliberately not a throttle bucket: a client secret has 240
  random bits, so guessing is not the threat, and a per-client block would let anyone
  who knows a client id (they are not secret) lock that client out.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web

from gateway.audit import actions
from gateway.audit.http import record
from gateway.auth.credentials import given, repeated
from gateway.executors import HASH_GATE, HashQueueFull
from gateway.identity.clients import OAuthClient
from gateway.oauth.context import OAuthContext
from gateway.oauth.errors import OAuthError, invalid_client
from gateway.peer import client_address

__all__ = [
    "MAX_FORM",
    "TOKEN_INSPECTION_PARAMETERS",
    "TOKEN_PARAMETERS",
    "Form",
    "authenticate_client",
    "client_address",
    "hashing",
    "read_form",
    "throttled",
]

MAX_FORM = 64 * 1024
"""Largest accepted form body in bytes (a token request is a few hundred)."""

_T = TypeVar("_T")


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


_NUL_ALLOWED = frozenset({"password", "refresh_token", "token"})
"""Parameters that may hold NUL: they are only hashed or parsed, never looked up as
text. A password set through ``/v1/users`` (JSON) may hold any character; a token that
is no token of ours is ``invalid_grant``, or at revocation and introspection the same
answer as any unknown token (RFC 7009 2.2, RFC 7662 2.2)."""


def _too_large() -> OAuthError:
    return OAuthError("invalid_request", f"The request body is larger than {MAX_FORM} bytes")


TOKEN_PARAMETERS = frozenset(
    {"grant_type", "client_id", "client_secret", "scope", "username", "password", "refresh_token"}
)
"""What ``/oauth/token`` reads (its three grants and client authentication)."""
TOKEN_INSPECTION_PARAMETERS = frozenset({"token", "token_type_hint", "client_id", "client_secret"})
"""What ``/oauth/revoke`` (RFC 7009 2.1) and ``/oauth/introspect`` (RFC 7662 2.1) read."""

_CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
}
"""The ``charset`` a form may declare, and the codec that decodes it. RFC 6749 Appendix B
says UTF-8 (the default); US-ASCII is its subset; ISO-8859-1 is what Apache HttpClient's
``UrlEncodedFormEntity`` encodes and declares by default, so it is decoded as declared
rather than mistaken for UTF-8. A fixed table, not ``codecs.lookup``: the standard
library caches every name it fails to find, so client-chosen names would grow memory."""


def _codec(request: web.Request) -> str:
    declared = request.charset
    if declared is None:
        return "utf-8"
    codec = _CHARSETS.get(declared.strip().lower())
    if codec is None:
        raise OAuthError(
            "invalid_request",
            "Send the form in UTF-8 (RFC 6749 Appendix B); US-ASCII and ISO-8859-1 are read too",
        )
    return codec


async def read_form(request: web.Request, parameters: frozenset[str]) -> Form:
    """The whole body, however the client's bytes were segmented, up to ``MAX_FORM``;
    only the ``parameters`` the endpoint reads.

    A larger body (declared or sent) is ``invalid_request``: RFC 6749 has no code of its
    own for it, and 5.2 says errors are 400 unless specified otherwise. So is a body with
    a ``Content-Encoding`` (the API listener never decompresses; aiohttp would, and a
    corrupt gzip body made a 500), one aiohttp cannot read (``RequestPayloadError``), one
    in a charset other than those of ``_CHARSETS``, and bytes (raw or percent-encoded)
    that are not text in the form's charset: decoding them with replacement made every
    invalid sequence one U+FFFD, so different passwords matched.

    RFC 6749 3.2 and 3.1: an unrecognised parameter is ignored (its repetition and its
    characters included: RFC 8707's ``resource`` may be repeated, and a server without
    it must not refuse the request), and one sent empty counts as omitted (so an empty
    copy does not make a repetition). A parameter the endpoint reads given twice is
    ``invalid_request``.
    """
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded")
    codec = _codec(request)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise OAuthError("invalid_request", "Send the body without Content-Encoding")
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise _too_large()
    body = bytearray()
    while True:
        try:
            chunk = await request.content.read(MAX_FORM + 1 - len(body))
        except web.RequestPayloadError:  # the body ended early or is malformed
            raise OAuthError("invalid_request", "The request body could not be read") from None
        if not chunk:
            break
        body += chunk
        if len(body) > MAX_FORM:
            raise _too_large()
    try:
        pairs = parse_qsl(
            bytes(body).decode(codec),
            keep_blank_values=True,
            encoding=codec,
            errors="strict",
        )
    except ValueError:  # UnicodeDecodeError included
        raise OAuthError("invalid_request", f"The body is not valid {codec} form data") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in parameters or not value:
            continue
        if "\x00" in value and name not in _NUL_ALLOWED:
            # Client ids and usernames are looked up and become throttle buckets:
            # PostgreSQL refuses NUL in text (a 500). No id, name or scope holds one.
            raise OAuthError("invalid_request", "A parameter holds a NUL character")
        if name in values:
            # RFC 6749 3.2: parameters must not be included more than once.
            raise OAuthError("invalid_request", f"The '{name}' parameter is repeated")
        values[name] = value
    return Form(values)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    headers = request.headers.getall("Authorization", ())
    header = given(headers)
    if header is None:
        return None
    if repeated(headers):
        # Two credentials (RFC 6749 2.3: one method per request): whichever copy a reader
        # took would decide which client the request is, as on ``/v1`` (the same rules,
        # ``gateway.auth.credentials``, blank copies being no credential).
        raise OAuthError("invalid_request", "The Authorization header may be given only once")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Use HTTP Basic or client_secret_post client authentication")
    try:
        # A header byte outside ASCII (aiohttp hands it over as a character, or as a lone
        # surrogate when it is not UTF-8) is no base64: b64decode raises a plain
        # ValueError for it, which binascii.Error (its subclass) would not catch.
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        raise invalid_client("Malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("Malformed Basic credentials")
    # RFC 6749 2.3.1: both parts are form-encoded (UTF-8, Appendix B) before joining
    # with ':'. Strictly: with replacement, every invalid sequence became one U+FFFD.
    try:
        client_id = unquote_plus(client_id, errors="strict")
        secret = unquote_plus(secret, errors="strict")
    except UnicodeDecodeError:
        raise invalid_client("Malformed Basic credentials") from None
    if "\x00" in client_id or "\x00" in secret:  # no client has one; PostgreSQL refuses it
        raise invalid_client("Malformed Basic credentials")
    return client_id, secret


def throttled(wait: float, what: str) -> OAuthError:
    seconds = max(1, math.ceil(wait))
    return OAuthError(
        "slow_down",
        f"Too many failed {what}; retry in {seconds} s",
        status=429,
        headers={"Retry-After": str(seconds)},
    )


async def hashing(request: web.Request, call: Callable[[], Awaitable[_T]]) -> _T:
    """Await ``call()`` (which hashes) through the process's hashing gate; a full queue
    is ``429 temporarily_unavailable`` with ``Retry-After``."""
    try:
        return await request.app[HASH_GATE].run(call)
    except HashQueueFull as exc:
        raise OAuthError(
            "temporarily_unavailable",
            "The server is busy checking other credentials; retry shortly",
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        ) from None


async def authenticate_client(request: web.Request, form: Form, ctx: OAuthContext) -> OAuthClient:
    """The client from HTTP Basic (``client_secret_basic``) or the body
    (``client_secret_post``); using both at once is ``invalid_request``. Throttled per
    address and hashed through the hashing gate (see the module docstring)."""
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
    buckets = [f"client-ip:{client_address(request)}"]
    store = ctx.store
    wait = await store.throttle.retry_after(buckets)
    if wait > 0:
        raise throttled(wait, "client authentications from your address")
    client = await hashing(request, lambda: store.clients.authenticate(client_id, secret))
    if client is None:
        await store.throttle.record_failure(buckets, ctx.settings.throttle)
        await _client_failed(request, ctx, client_id)
        raise invalid_client("Unknown client or wrong client secret")
    return client


async def _client_failed(request: web.Request, ctx: OAuthContext, client_id: str) -> None:
    """``auth.client.failure``, in the log of the client's account when the id names a
    client (an id that names none is not recorded: it may be a secret pasted wrongly)."""
    known = await ctx.store.clients.get(client_id) if len(client_id) <= 128 else None
    record(
        request,
        actions.AUTH_CLIENT_FAILURE,
        outcome="failure",
        target=("client", None if known is None else known.id),
        account=None if known is None else known.account_id,
        details={"reason": "invalid_client", "endpoint": request.path},
    )
