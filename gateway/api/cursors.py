"""The ``cursor`` of ``GET /v1/buckets/{name}/objects``: where the next page starts, bound
to its bucket.

A cursor is a page token of ``gateway/identity/page_tokens.py`` (as the S3 listener's
continuation tokens, with a subkey of its own), bound to the bucket, so every worker and
host of a deployment reads the cursors any of them wrote. A cursor this API did not
write for that bucket (forged, altered, another bucket's, an S3 continuation token) is
400 ``ValidationError`` naming ``cursor``, as AWS refuses a continuation token it did not
issue: a listing never starts where a client wrote it should, nor somewhere another
bucket's position says.
"""

from __future__ import annotations

import json

from aiohttp import web

from gateway.api.auth import PRINCIPAL
from gateway.api.errors import ApiError
from gateway.api.validation import invalid
from gateway.identity.crypto import Keyring
from gateway.identity.page_tokens import seal, unseal
from gateway.state import IDENTITY

__all__ = ["decode_cursor", "encode_cursor", "issue_cursor", "read_cursor"]

_PURPOSE = "rest-object-cursor"
_LISTING_PURPOSE = "rest-listing-cursor"
_UNBOUND = frozenset({"cursor", "limit"})
"""Query parameters a listing may change between pages (and any given empty, which
names no filter)."""


def encode_cursor(keyring: Keyring, bucket: str, marker: str) -> str:
    return seal(keyring, _PURPOSE, bucket, marker)


def decode_cursor(keyring: Keyring, bucket: str, cursor: str) -> str:
    """The key a cursor of :func:`encode_cursor` for ``bucket`` resumes after."""
    marker = unseal(keyring, _PURPOSE, bucket, cursor)
    if marker is None:
        raise _refused()
    return marker


def _refused() -> ApiError:
    return invalid("cursor", "'cursor' is not a cursor this API returned for this bucket")


def _listing(request: web.Request) -> str:
    """What a listing's cursor is bound to: route, caller and filters."""
    principal = request[PRINCIPAL]
    filters = sorted((k, v) for k, v in request.query.items() if k not in _UNBOUND and v)
    route = request.match_info.route.resource
    name = route.canonical if route is not None else request.path
    return json.dumps([name, principal.account_id, principal.subject, filters])


def issue_cursor(request: web.Request, store_cursor: str | None) -> str | None:
    """The ``next_cursor`` answered for the state store's cursor of this listing."""
    if store_cursor is None:
        return None
    keyring = request.app[IDENTITY].keyring
    return seal(keyring, _LISTING_PURPOSE, _listing(request), store_cursor)


def read_cursor(request: web.Request) -> str | None:
    """The state store's cursor inside the request's ``cursor`` (``None``: the first
    page); 400 for a cursor :func:`issue_cursor` did not make for this listing. The store
    reads back only what it wrote, so a ``ValueError`` of its listing is not about the
    cursor (a NUL in a filter on PostgreSQL is ``UnstorableText``, 400 ``InvalidRequest``)."""
    cursor = request.query.get("cursor") or None
    if cursor is None:
        return None
    keyring = request.app[IDENTITY].keyring
    store_cursor = unseal(keyring, _LISTING_PURPOSE, _listing(request), cursor)
    if store_cursor is None:
        raise invalid("cursor", "'cursor' is not a cursor this API returned for this listing")
    return store_cursor
