"""``object_meta`` reads user metadata only from requests whose header names hold some
(its first look is one lower-cased text of all names): what it finds is what reading
every header pair does, for every spelling and place of a metadata header."""

from __future__ import annotations

import pytest

from gateway.s3.errors import S3Error
from gateway.s3.headers import META_PREFIX, object_meta

BOTO3 = [
    ("Host", "127.0.0.1:9000"),
    ("Accept-Encoding", "identity"),
    ("User-Agent", "Boto3/1.35.0 md/Botocore#1.35.0"),
    ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ("Expect", "100-continue"),
    ("X-Amz-Date", "20261206T010101Z"),
    ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
    ("Authorization", "AWS4-HMAC-SHA256 Credential=x-amz-meta-not/a/name"),
    ("Content-Length", "0"),
]
CASES: dict[str, list[tuple[str, str]]] = {
    "none": BOTO3,
    "empty": [],
    "first": [("X-Amz-Meta-First", "1"), *BOTO3],
    "last": [*BOTO3, ("x-amz-meta-last", "2")],
    "upper case": [*BOTO3, ("X-AMZ-META-LOUD", "3")],
    "repeated": [("x-amz-meta-a", "1"), *BOTO3, ("X-Amz-Meta-A", "2"), ("x-amz-meta-a", "")],
    "bare prefix": [*BOTO3, ("x-amz-meta-", "v"), ("X-Amz-Meta-", "w")],
    "non-ASCII names": [*BOTO3, ("x-amz-meta-ΑΣ", "\u03c3"), ("X-Amz-Meta-KİK", "k")],
    "Kelvin sign": [*BOTO3, ("X-Amz-Meta-\u212a", "k")],
    "only in a value": [*BOTO3, ("x-other", "\nx-amz-meta-x")],
    "prefix inside a name": [*BOTO3, ("x-not-x-amz-meta-y", "v")],
}


def _pair_by_pair(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], int | None]:
    """The rule as it was: every pair read."""
    user: dict[str, str] = {}
    missing = 0
    for name, value in pairs:
        lower = name.lower()
        if lower.startswith(META_PREFIX):
            meta_name = lower[len(META_PREFIX) :]
            if not meta_name:
                missing += 1
                continue
            user[meta_name] = f"{user[meta_name]},{value}" if meta_name in user else value
    return user, missing or None


@pytest.mark.parametrize("case", list(CASES))
def test_user_metadata_as_read_pair_by_pair(case: str) -> None:
    pairs = CASES[case]
    headers = {name.lower(): value for name, value in reversed(pairs)}
    meta = object_meta(headers, tuple(pairs))
    user, missing = _pair_by_pair(pairs)
    assert dict(meta.user_metadata) == user and list(meta.user_metadata) == list(user)
    assert meta.missing_meta == missing


def test_a_bad_metadata_value_is_still_refused() -> None:
    pairs = (*BOTO3, ("X-Amz-Meta-Bad", "a\r\nb"))
    with pytest.raises(S3Error) as raised:
        object_meta({}, pairs)
    assert raised.value.code == "InvalidArgument"
