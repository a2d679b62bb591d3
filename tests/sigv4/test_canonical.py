"""Canonical URI, query and headers: the S3-specific rules."""

from __future__ import annotations

import pytest

from sigv4.canonical import canonical_headers, canonical_query, canonical_uri, uri_encode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("/bucket/a%20b", "/bucket/a%20b"),
        ("/bucket/a b", "/bucket/a%20b"),
        ("/bucket/a+b", "/bucket/a%2Bb"),  # a raw '+' in a path is a plus, not a space
        ("/bucket/a%2bb", "/bucket/a%2Bb"),  # lower-case hex re-encoded upper-case
        ("/bucket/%7Ex", "/bucket/~x"),  # unreserved characters are not encoded
        ("/bucket/a%2Fb", "/bucket/a%2Fb"),  # an encoded slash stays inside its segment
        ("/bucket//a/./../b/", "/bucket//a/./../b/"),  # S3: no normalisation at all
        ("/bucket/\u1234", "/bucket/%E1%88%B4"),
        ("/bucket/%E1%88%B4", "/bucket/%E1%88%B4"),
        ("/bucket/$delete", "/bucket/%24delete"),
    ],
)
def test_canonical_uri(raw: str, expected: str) -> None:
    assert canonical_uri(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("acl", "acl="),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("prefix=a+b", "prefix=a%2Bb"),  # '+' is a literal plus, as botocore signs it
        ("prefix=a%20b", "prefix=a%20b"),
        ("prefix=a/b", "prefix=a%2Fb"),
        ("x=%7e", "x=~"),
        ("a=1&&b=2", "a=1&b=2"),
        ("k=v=w", "k=v%3Dw"),
        ("X-Amz-Signature=abc&a=1", "a=1"),
    ],
)
def test_canonical_query(raw: str, expected: str) -> None:
    assert canonical_query(raw, exclude="X-Amz-Signature") == expected


def test_canonical_query_sorts_by_encoded_name() -> None:
    # '%E1...' sorts before 'P' once encoded, whatever the decoded order.
    assert canonical_query("Param=1&\u1234=2") == "%E1%88%B4=2&Param=1"


def test_canonical_headers_trim_fold_and_join_repeats() -> None:
    headers = (
        ("Host", "example.com"),
        ("X-Amz-Meta-A", "  one   two "),
        ("x-amz-meta-a", "three"),
        ("X-Unsigned", "ignored"),
    )
    assert canonical_headers(headers, ("host", "x-amz-meta-a")) == (
        "host:example.com\nx-amz-meta-a:one two,three\n"
    )


def test_missing_signed_header_is_empty() -> None:
    assert canonical_headers((("Host", "h"),), ("host", "range")) == "host:h\nrange:\n"


def test_uri_encode_encodes_slash_and_keeps_unreserved() -> None:
    assert uri_encode("a/b c~-_.") == "a%2Fb%20c~-_."
