"""Page positions handed to clients, bound to the listing they belong to.

A token is ``base64url(version || tag || marker)``: ``marker`` is where the next page
starts (a key or a bucket name, UTF-8), ``tag`` 128 bits of an HMAC-SHA256 of the
listing's ``scope`` (``objects/<bucket>``, ``buckets/<account>``, a bucket of the REST
API) and the marker, under a subkey of the master key for the token's ``purpose`` (the
S3 listener's continuation tokens, the REST API's cursors). Every worker and host of one
deployment shares the master key, so any of them reads a token another wrote; rotating
the master key ends the listings in progress (clients start over). A token not made for
that scope and purpose (forged, altered, another bucket's or account's, the other API's)
reads as nothing: a listing never starts where a client wrote it should.
Cost: one HMAC of at most ~1 KB per page that sends or receives a token (~2 us).
"""

from __future__ import annotations

import base64
import binascii
import hmac

from gateway.identity.crypto import Keyring

__all__ = ["MAX_TOKEN", "seal", "unseal"]

_VERSION = b"\x02"
_TAG = 16
MAX_TOKEN = 2048
"""Longest token read: a 1,024-byte key makes one of 1,388 characters."""
_keys: dict[tuple[str, str], bytes] = {}
"""Subkeys by (master-key fingerprint, purpose): a handful at most."""


def _tag(keyring: Keyring, purpose: str, scope: str, marker: bytes) -> bytes:
    key = _keys.get((keyring.fingerprint, purpose))
    if key is None:
        key = _keys[keyring.fingerprint, purpose] = keyring.subkey(purpose)
    return hmac.digest(key, scope.encode("utf-8") + b"\0" + marker, "sha256")[:_TAG]


def seal(keyring: Keyring, purpose: str, scope: str, marker: str) -> str:
    """The token of ``marker`` in the listing ``scope``."""
    raw = marker.encode("utf-8")
    token = _VERSION + _tag(keyring, purpose, scope, raw) + raw
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def unseal(keyring: Keyring, purpose: str, scope: str, token: str) -> str | None:
    """The marker of a token :func:`seal` made for ``purpose`` and ``scope``; None for
    anything else (the caller answers its protocol's refusal)."""
    if not token or len(token) > MAX_TOKEN or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    head = len(_VERSION) + _TAG
    marker = raw[head:]
    if (
        raw[:1] != _VERSION
        or not marker
        or not hmac.compare_digest(raw[1:head], _tag(keyring, purpose, scope, marker))
    ):
        return None
    try:
        return marker.decode("utf-8")
    except UnicodeDecodeError:  # only a tag made with the master key gets here
        return None
