"""sign: the HMAC states kept per signing key give each signature as a fresh HMAC would."""

from __future__ import annotations

import hashlib
import hmac

from sigv4.signing import sign, signing_key


def test_sign_is_the_hmac_of_each_string_under_its_key_however_often_called() -> None:
    keys = [signing_key(secret, "20240524", "us-east-1", "s3") for secret in ("a", "b", "c")]
    for _ in range(3):  # the kept state must not absorb what an earlier call signed
        for key in keys:
            for text in ("", "x", "AWS4-HMAC-SHA256\n20240524T000000Z\n" + "s" * 500):
                expected = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
                assert sign(key, text) == expected
    assert sign(keys[0], "x") != sign(keys[1], "x")


def test_sign_follows_rfc_2104_for_keys_of_every_length() -> None:
    """The inner and outer states are built from the key padded to SHA-256's 64-byte block,
    or from its digest when it is longer: the three cases of RFC 2104, and non-ASCII text."""
    for key in (b"", b"k" * 32, bytes(range(64)), bytes(range(65)), b"\xff" * 200):
        for text in ("", "é☃ payload", "x" * 1000):
            assert sign(key, text) == hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
