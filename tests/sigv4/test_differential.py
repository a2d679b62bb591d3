"""Differential tests: whatever botocore signs, we verify; any signed byte changed fails."""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigv4 import (
    PayloadPipeline,
    SignatureDoesNotMatch,
    SignedRequest,
    XAmzContentSHA256Mismatch,
    header_map,
    parse_auth,
    verify,
)
from tests.sigv4.helpers import NOW, SECRET, botocore_presign, botocore_sign

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_key_chars = st.one_of(
    st.sampled_from(list("/+%~ =&?#!*'()$,;:@[]^`{}|\\\"<>")),
    st.characters(exclude_categories=["Cs"]),
)
keys = st.text(_key_chars, min_size=1, max_size=24)
methods = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])
query_names = st.text(_key_chars, min_size=1, max_size=10).filter(
    lambda n: not n.startswith("X-Amz-")
)
queries = st.lists(st.tuples(query_names, st.text(_key_chars, max_size=10)), max_size=4)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
meta = st.dictionaries(
    st.from_regex(r"x-amz-meta-[a-z0-9]{1,8}", fullmatch=True), header_values, max_size=3
)


def _url(key: str, query: list[tuple[str, str]]) -> str:
    url = "https://s3.example.com/bucket/" + str(percent_encode(key, safe="/~"))
    if query:
        url += "?" + "&".join(f"{percent_encode(n)}={percent_encode(v)}" for n, v in query)
    return url


def _verify(request: SignedRequest) -> None:
    """Both ways verify reads the headers: the pairs, and the header map the gateway
    passes (``headers``; read in place of the pairs when no name repeats)."""
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW)
    verify(request, auth, SECRET, NOW, headers=header_map(request.headers))


def _refused(request: SignedRequest) -> None:
    """``request`` fails to verify, read either way (as :func:`_verify`)."""
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, auth, SECRET, NOW)
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, auth, SECRET, NOW, headers=header_map(request.headers))


def _tampered(request: SignedRequest, which: int) -> SignedRequest:
    """``request`` with one signed element changed (chosen by ``which``)."""
    choice = which % 5
    if choice == 0:
        return replace(request, raw_path=request.raw_path + "x")
    if choice == 1:
        extra = "tampered=1"
        return replace(
            request, raw_query=f"{request.raw_query}&{extra}" if request.raw_query else extra
        )
    if choice == 2:
        return replace(request, method="PATCH")
    if choice == 3:
        headers = tuple((k, v + "x" if k.lower() == "host" else v) for k, v in request.headers)
        return replace(request, headers=headers)
    # flip one hex digit of the signature, wherever it travels
    signature = parse_auth(request).signature  # type: ignore[union-attr]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    headers = tuple((k, v.replace(signature, flipped)) for k, v in request.headers)
    return replace(
        request, raw_query=request.raw_query.replace(signature, flipped), headers=headers
    )


@SETTINGS
@given(methods, keys, queries, meta, st.binary(max_size=64), st.integers(0, 4))
def test_header_auth_matches_botocore(
    method: str,
    key: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    which: int,
) -> None:
    request = botocore_sign(method, _url(key, query), headers, body)
    _verify(request)
    _refused(_tampered(request, which))


@SETTINGS
@given(meta.filter(bool), st.data())
def test_changing_a_signed_header_value_fails(headers: dict[str, str], data: st.DataObject) -> None:
    request = botocore_sign("PUT", _url("k", []), headers)
    name = data.draw(st.sampled_from(sorted(headers)))
    changed = tuple((k, v + "!" if k.lower() == name else v) for k, v in request.headers)
    _refused(replace(request, headers=changed))


@SETTINGS
@given(methods, keys, queries, st.integers(0, 4))
def test_presigned_matches_botocore(
    method: str, key: str, query: list[tuple[str, str]], which: int
) -> None:
    request = botocore_presign(method, _url(key, query))
    _verify(request)
    _refused(_tampered(request, which))


@SETTINGS
@given(st.binary(min_size=1, max_size=256), st.data())
def test_body_sha256_checked_by_pipeline(body: bytes, data: st.DataObject) -> None:
    request = botocore_sign("PUT", _url("obj", []), {}, body)
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW)

    ok = PayloadPipeline.create(header_map(request.headers), verified, allow_streaming=False)
    assert ok.feed(body) == body
    ok.finish()

    index = data.draw(st.integers(0, len(body) - 1))
    tampered = bytearray(body)
    tampered[index] ^= 0x01
    bad = PayloadPipeline.create(header_map(request.headers), verified, allow_streaming=False)
    bad.feed(bytes(tampered))
    with pytest.raises(XAmzContentSHA256Mismatch):
        bad.finish()


def test_session_token_header_is_signed() -> None:
    request = botocore_sign("GET", _url("k", []), token="session-token")
    _verify(request)
    changed = tuple(
        (k, "other" if k.lower() == "x-amz-security-token" else v) for k, v in request.headers
    )
    _refused(replace(request, headers=changed))


def test_session_token_query_is_signed() -> None:
    request = botocore_presign("GET", _url("k", []), token="tok/en+x")
    assert "X-Amz-Security-Token=" in request.raw_query
    _verify(request)
    _refused(replace(request, raw_query=request.raw_query.replace("tok", "tak")))


def test_presigned_url_is_method_specific() -> None:
    request = botocore_presign("GET", _url("k", []))
    _refused(replace(request, method="HEAD"))
