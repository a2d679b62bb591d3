"""Every x-amz-* header a request carries must be signed (header auth and presigned)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import (
    UNSIGNED_ALLOWED,
    AccessDenied,
    SignatureDoesNotMatch,
    SignedRequest,
    parse_auth,
    unsigned_amz_headers,
    verify,
)
from tests.sigv4.helpers import NOW, SECRET, botocore_presign, botocore_sign

URL = "https://s3.example.com/bucket/key"

# Headers that change what a request does; none may be honoured unsigned.
DECISIVE = [
    ("x-amz-copy-source", "/other-bucket/secret"),
    ("x-amz-copy-source-range", "bytes=0-10"),
    ("x-amz-copy-source-if-match", '"abc"'),
    ("x-amz-acl", "public-read"),
    ("x-amz-grant-read", 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
    ("x-amz-meta-owner", "mallory"),
    ("x-amz-tagging", "a=b"),
    ("x-amz-server-side-encryption", "AES256"),
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-storage-class", "GLACIER"),
    ("x-amz-website-redirect-location", "https://evil.example/"),
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ("x-amz-decoded-content-length", "5"),
    ("x-amz-trailer", "x-amz-checksum-crc32"),
    ("x-amz-metadata-directive", "REPLACE"),
    ("x-amz-date", "20240524T123045Z"),
    ("x-amz-security-token", "token"),
]


def _with(request: SignedRequest, *headers: tuple[str, str]) -> SignedRequest:
    return replace(request, headers=(*request.headers, *headers))


def _verify(request: SignedRequest) -> None:
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW)


@pytest.mark.parametrize(("name", "value"), DECISIVE, ids=[n for n, _ in DECISIVE])
def test_presigned_refuses_an_added_amz_header(name: str, value: str) -> None:
    request = _with(botocore_presign("PUT", URL), (name, value))
    with pytest.raises(AccessDenied) as refused:
        _verify(request)
    assert (
        refused.value.message == "There were headers present in the request which were not signed"
    )
    assert refused.value.extra == {"HeadersNotSigned": name}


# botocore signs its own x-amz-date (a second value would break the signature instead).
HEADER_AUTH_DECISIVE = [(n, v) for n, v in DECISIVE if n != "x-amz-date"]


@pytest.mark.parametrize(
    ("name", "value"), HEADER_AUTH_DECISIVE, ids=[n for n, _ in HEADER_AUTH_DECISIVE]
)
def test_header_auth_refuses_an_added_amz_header(name: str, value: str) -> None:
    signed = botocore_sign("PUT", URL, {"x-amz-meta-a": "b"}, b"data")
    with pytest.raises(AccessDenied) as refused:
        _verify(_with(signed, (name, value)))
    assert refused.value.extra == {"HeadersNotSigned": name}


def test_names_reported_once_sorted_lower_case() -> None:
    request = _with(
        botocore_presign("PUT", URL),
        ("X-Amz-Tagging", "a=b"),
        ("x-amz-acl", "private"),
        ("x-amz-tagging", "c=d"),
    )
    with pytest.raises(AccessDenied) as refused:
        _verify(request)
    assert refused.value.extra == {"HeadersNotSigned": "x-amz-acl, x-amz-tagging"}


def test_headers_signed_by_the_presigner_are_accepted() -> None:
    """A URL presigned with x-amz-* headers works when they are sent (any case)."""
    request = botocore_presign(
        "PUT", URL, {"x-amz-meta-owner": "alice", "x-amz-storage-class": "STANDARD"}
    )
    request = replace(
        request,
        headers=tuple(
            (k.upper(), v) if k.startswith("x-amz") else (k, v) for k, v in request.headers
        ),
    )
    _verify(request)


def test_unsigned_content_sha256_allowed_on_presigned() -> None:
    """AWS's exception: a presigned URL signs UNSIGNED-PAYLOAD; the header can only
    narrow what the body may be."""
    assert frozenset({"x-amz-content-sha256"}) == UNSIGNED_ALLOWED
    _verify(_with(botocore_presign("PUT", URL), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")))


def test_other_unsigned_headers_are_fine() -> None:
    """Only x-amz-* headers must be signed: x-amzn-trace-id, content-type, range, ..."""
    request = _with(
        botocore_presign("GET", URL),
        ("x-amzn-trace-id", "Root=1-abc"),
        ("Content-Type", "text/plain"),
        ("Range", "bytes=0-1"),
        ("User-Agent", "curl/8"),
        ("x-amz", "not an amz header"),
    )
    _verify(request)


def test_signed_header_dropped_is_a_signature_mismatch() -> None:
    """The converse (a signed header not sent) is the signature's business."""
    request = botocore_sign("PUT", URL, {"x-amz-meta-a": "b"}, b"data")
    without = replace(
        request, headers=tuple(h for h in request.headers if h[0].lower() != "x-amz-meta-a")
    )
    with pytest.raises(SignatureDoesNotMatch):
        _verify(without)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[xX]-[aA][mM][zZ]-[a-zA-Z0-9-]{1,20}", fullmatch=True),
            st.text("abc", max_size=3),
        ),
        max_size=6,
    ),
    st.sets(st.from_regex(r"x-amz-[a-z0-9-]{1,20}", fullmatch=True), max_size=4),
)
def test_unsigned_is_exactly_present_minus_signed(
    headers: list[tuple[str, str]], signed: set[str]
) -> None:
    found = unsigned_amz_headers(tuple(headers), signed)
    expected = {n.lower() for n, _ in headers} - signed - UNSIGNED_ALLOWED
    assert found == sorted(expected)
