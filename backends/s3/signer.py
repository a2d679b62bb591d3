"""The lean client's signer: ``sigv4.outgoing.Signer`` with the hot request's canonical
request spelled out.

A proxied HEAD or GET without conditions or a range signs one header of its own, ``host``
(``x-amz-date`` and ``x-amz-content-sha256`` join it): its canonical request has a fixed
shape, made by one format instead of ``sigv4.outgoing``'s general steps (the headers
lower-cased into a dict, sorted, each value trimmed in a loop, the parts joined). The
string to sign's prefix (algorithm, time stamp, scope) is made once a second, the host's
line once a host. Every other request (more headers: a PUT's, a conditional or ranged
read's) goes through ``sigv4.outgoing.Signer``. Same headers, byte for byte: tests compare
both with botocore's signer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from sigv4.canonical import canonical_query, canonical_uri
from sigv4.outgoing import Signer, amz_date
from sigv4.signing import ALGORITHM, hmac_states, scope, signing_key

__all__ = ["LeanSigner"]

_SIGNED_NAMES = "host;x-amz-content-sha256;x-amz-date"
"""The signed header names of a request that gives ``host`` alone, sorted."""


class LeanSigner:
    """``sigv4.outgoing.Signer.headers`` for one credential, with the one-header request
    (``{"host": ...}``) signed by a fixed format. ``payload_hash`` is a hex SHA-256 or
    ``UNSIGNED-PAYLOAD`` (no white space: the general signer's trimming leaves it as it
    is)."""

    __slots__ = (
        "_access_key_id",
        "_authorization",
        "_date",
        "_day_inner",
        "_general",
        "_host",
        "_host_line",
        "_inner",
        "_outer",
        "_region",
        "_second",
        "_secret",
        "_stamp",
    )

    def __init__(self, access_key_id: str, secret_access_key: str, region: str) -> None:
        self._general = Signer(access_key_id, secret_access_key, region)
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._region = region
        self._second = -1
        self._stamp = ""  # x-amz-date of ``_second``
        self._date = ""  # the day of the signing key
        # HMAC's inner and outer states of the day's signing key, and the inner state
        # after the string to sign's prefix of ``_second``
        self._day_inner, self._outer = hmac_states(b"")
        self._inner = self._day_inner
        self._authorization = ""  # the Authorization header up to the signature
        self._host: str | None = None
        self._host_line = ""

    def headers(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        payload_hash: str,
        now: float,
    ) -> dict[str, str]:
        """``x-amz-date``, ``x-amz-content-sha256`` and ``authorization`` for a request
        carrying ``headers`` (lower-case names), at ``now`` (``time.time()``)."""
        host = headers.get("host") if len(headers) == 1 else None
        if host is None:
            return self._general.headers(method, raw_path, raw_query, headers, payload_hash, now)
        second = int(now)
        if second != self._second:
            self._tick(second)
        if host != self._host:
            self._host = host
            self._host_line = f"host:{' '.join(host.split())}\n"
        stamp = self._stamp
        query = canonical_query(raw_query) if raw_query else ""
        creq = (
            f"{method.upper()}\n{canonical_uri(raw_path)}\n{query}\n"
            f"{self._host_line}x-amz-content-sha256:{payload_hash}\nx-amz-date:{stamp}\n\n"
            f"{_SIGNED_NAMES}\n{payload_hash}"
        )
        # HMAC-SHA256 of the string to sign (``sigv4.signing.sign``): the inner hash goes
        # on from the state that absorbed the key and the string's prefix this second
        inner = self._inner.copy()
        inner.update(hashlib.sha256(creq.encode()).hexdigest().encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return {
            "x-amz-date": stamp,
            "x-amz-content-sha256": payload_hash,
            "authorization": self._authorization + outer.hexdigest(),
        }

    def _tick(self, second: int) -> None:
        """A new second: its time stamp, and on a new day the scope and signing key."""
        stamp = amz_date(datetime.fromtimestamp(second, UTC))
        date = stamp[:8]
        credential_scope = scope(date, self._region, "s3")
        if date != self._date:
            key = signing_key(self._secret, date, self._region, "s3")
            self._day_inner, self._outer = hmac_states(key)
            self._date = date
            self._authorization = (
                f"{ALGORITHM} Credential={self._access_key_id}/{credential_scope}, "
                f"SignedHeaders={_SIGNED_NAMES}, Signature="
            )
        inner = self._day_inner.copy()
        inner.update(f"{ALGORITHM}\n{stamp}\n{credential_scope}\n".encode())
        self._inner = inner
        self._stamp = stamp
        self._second = second
