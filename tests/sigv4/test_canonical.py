"""Canonical URI, query and headers: the S3-specific rules."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import (
    SignatureDoesNotMatch,
    decode_query,
    header_map,
    parse_auth,
    unsigned_amz_headers,
    verify,
)
from sigv4.canonical import canonical_headers, canonical_query, canonical_uri, uri_encode
from tests.sigv4.helpers import NOW, SECRET, botocore_sign


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
        # a raw '+' is a space, as S3 form-decodes its query (object_store sends spaces so)
        ("prefix=a+b", "prefix=a%20b"),
        ("prefix=a%2Bb", "prefix=a%2Bb"),  # a plus, as botocore sends it
        ("prefix=a%20b", "prefix=a%20b"),
        ("a+b=c+d%2B", "a%20b=c%20d%2B"),
        ("prefix=a/b", "prefix=a%2Fb"),
        ("x=%7e", "x=~"),
        ("a=1&&b=2", "a=1&b=2"),
        ("k=v=w", "k=v%3Dw"),
        ("X-Amz-Signature=abc&a=1", "a=1"),
    ],
)
def test_canonical_query(raw: str, expected: str) -> None:
    assert canonical_query(raw, exclude="X-Amz-Signature") == expected


def test_query_plus_is_a_space_when_routed_and_when_signed() -> None:
    """The Rust object_store crate (Polars, obstore) form-encodes its query (``prefix=a+b``
    for ``a b``) and signs the space as ``%20``, as S3 reads it: routing and the signature
    check read it alike, and a ``+`` swapped for ``%2B`` no longer verifies."""
    assert decode_query("prefix=dir+with+space%2Bplus%2F&list-type=2") == {
        "prefix": "dir with space+plus/",
        "list-type": "2",
    }
    signed = botocore_sign("GET", "https://s3.example.com/b?list-type=2&prefix=a%20b%2Bc")
    as_sent = replace(signed, raw_query="list-type=2&prefix=a+b%2Bc")
    for request in (signed, as_sent):
        auth = parse_auth(request)
        assert auth is not None
        verify(request, auth, SECRET, NOW)
    plus = replace(signed, raw_query="list-type=2&prefix=a%2Bb%2Bc")
    auth = parse_auth(plus)
    assert auth is not None
    with pytest.raises(SignatureDoesNotMatch):
        verify(plus, auth, SECRET, NOW)


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


_NAMES = st.from_regex(r"(?:[xX]-[aA][mM][zZ]-)?[a-zA-Z][a-zA-Z0-9-]{0,12}", fullmatch=True)
_VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, _VALUES), max_size=8),
    st.lists(_NAMES.map(str.lower), max_size=5),
)
def test_header_map_path_equals_the_pairs_path(
    headers: list[tuple[str, str]], signed: list[str]
) -> None:
    """verify reads the request's header map instead of the pairs when no name repeats
    (``unique``): the canonical headers and the unsigned x-amz-* names are the same."""
    pairs = tuple(headers)
    found = header_map(pairs)
    names = tuple(sorted(set(signed)))
    if len(found) != len(pairs):  # a repeated name: the map is not passed
        return
    assert canonical_headers(pairs, names, found) == canonical_headers(pairs, names)
    assert unsigned_amz_headers(pairs, names, found) == unsigned_amz_headers(pairs, names)


def test_a_header_map_that_drops_a_repeated_signed_header_is_not_read() -> None:
    """``verify`` reads the caller's header map only when it has as many entries as the
    request has headers: a map keeps one value per name, so for a signed header sent
    twice (the canonical value is both copies, joined) it would verify the first copy
    alone, and a second copy appended after signing would go unseen."""
    signed = botocore_sign("PUT", "https://s3.example.com/b/k", {"X-Amz-Meta-A": "one"})
    auth = parse_auth(signed)
    assert auth is not None and "x-amz-meta-a" in auth.signed_headers
    appended = replace(signed, headers=(*signed.headers, ("x-amz-meta-a", "two")))
    for headers in (None, header_map(appended.headers)):
        with pytest.raises(SignatureDoesNotMatch):
            verify(appended, auth, SECRET, NOW, headers=headers)
