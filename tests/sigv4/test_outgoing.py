"""The outgoing-request signer against botocore's signer (same inputs, same headers) and
against our own verifier."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigv4 import EMPTY_SHA256, SignedRequest, parse_auth, verify
from sigv4.outgoing import UNSIGNED_PAYLOAD, Signer, encode_path, encode_query, sign_headers
from tests.sigv4.helpers import ACCESS_KEY, NOW, SECRET, botocore_sign

HOST = "s3.example.com:9000"
UNSIGNED = {"client_config": Config(s3={"payload_signing_enabled": False})}

_key_chars = st.one_of(
    st.sampled_from(list("/+%~ =&?#!*'()$,;:@[]^`{}|\\\"<>.")),
    st.characters(exclude_categories=["Cs"]),
)
keys = st.text(_key_chars, min_size=1, max_size=24)
queries = st.lists(
    st.tuples(st.text(_key_chars, min_size=1, max_size=8), st.text(_key_chars, max_size=8)),
    max_size=4,
)
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=16)
headers = st.dictionaries(
    st.sampled_from(
        ["x-amz-meta-a", "x-amz-meta-colour", "content-type", "range", "if-match", "content-md5"]
    ),
    header_values,
    max_size=3,
)


def ours(
    method: str,
    key: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    payload_hash: str,
    **kwargs: object,
) -> tuple[str, str, dict[str, str]]:
    path = encode_path("bucket", key)
    raw_query = encode_query(query)
    signed = sign_headers(
        method,
        path,
        raw_query,
        {"host": HOST, **extra},
        payload_hash,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET,
        region=str(kwargs.get("region", "us-east-1")),
        now=NOW,
    )
    return path, raw_query, signed


def botocore_headers(
    method: str,
    path: str,
    raw_query: str,
    extra: dict[str, str],
    body: bytes,
    *,
    unsigned: bool = False,
    region: str = "us-east-1",
) -> dict[str, str]:
    url = f"http://{HOST}{path}" + (f"?{raw_query}" if raw_query else "")
    signed = botocore_sign(
        method, url, dict(extra), body, region=region, context=UNSIGNED if unsigned else None
    )
    return {k.lower(): v for k, v in signed.headers}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST"]), keys, queries, headers)
def test_same_authorization_as_botocore(
    method: str, key: str, query: list[tuple[str, str]], extra: dict[str, str]
) -> None:
    body = b"payload bytes" if method in ("PUT", "POST") else b""
    path, raw_query, signed = ours(method, key, query, extra, hashlib.sha256(body).hexdigest())
    theirs = botocore_headers(method, path, raw_query, extra, body)
    assert signed["authorization"] == theirs["authorization"]
    assert signed["x-amz-date"] == theirs["x-amz-date"]
    assert signed["x-amz-content-sha256"] == theirs["x-amz-content-sha256"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_unsigned_payload_as_botocore_sends_it(region: str) -> None:
    extra = {"content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==", "content-type": "text/plain"}
    path, raw_query, signed = ours(
        "PUT", "dir/a b+c.txt", [("partNumber", "3"), ("uploadId", "x/y=")], extra,
        UNSIGNED_PAYLOAD, region=region,
    )  # fmt: skip
    theirs = botocore_headers(
        "PUT", path, raw_query, extra, b"streamed", unsigned=True, region=region
    )
    assert theirs["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
    assert signed["authorization"] == theirs["authorization"]


def test_empty_body_hash_and_value_less_query() -> None:
    path, raw_query, signed = ours("POST", "k", [("uploads", "")], {}, EMPTY_SHA256)
    theirs = botocore_headers("POST", path, raw_query, {}, b"")
    assert raw_query == "uploads="
    assert signed["authorization"] == theirs["authorization"]


@settings(max_examples=50, deadline=None)
@given(keys, queries, headers)
def test_our_verifier_accepts_what_we_sign(
    key: str, query: list[tuple[str, str]], extra: dict[str, str]
) -> None:
    path, raw_query, signed = ours("GET", key, query, extra, EMPTY_SHA256)
    request = SignedRequest(
        method="GET",
        raw_path=path,
        raw_query=raw_query,
        headers=(("Host", HOST), *extra.items(), *signed.items()),
    )
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW + timedelta(seconds=30))


def test_every_given_header_is_signed_in_order() -> None:
    _, _, signed = ours("GET", "k", [], {"Range": "bytes=0-1", "If-None-Match": '"e"'}, "x")
    assert (
        "SignedHeaders=host;if-none-match;range;x-amz-content-sha256;x-amz-date,"
        in (signed["authorization"])
    )
    assert signed["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240524/us-east-1/s3/aws4_request, "
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["GET", "PUT", "HEAD"]), keys, queries, headers)
def test_a_signer_signs_as_botocore_does(
    method: str, key: str, query: list[tuple[str, str]], extra: dict[str, str]
) -> None:
    body = b"payload bytes" if method == "PUT" else b""
    path, raw_query = encode_path("bucket", key), encode_query(query)
    signer = Signer(ACCESS_KEY, SECRET, "us-east-1")
    signed = signer.headers(
        method, path, raw_query, {"host": HOST, **extra}, hashlib.sha256(body).hexdigest(),
        NOW.timestamp(),
    )  # fmt: skip
    assert signed == {
        name: value
        for name, value in botocore_headers(method, path, raw_query, extra, body).items()
        if name in signed
    }


def test_a_signer_moves_its_date_and_scope_with_the_clock() -> None:
    """One signer over a day's end: each signature is the one made from scratch at that
    instant (the date string is kept per second, the scope and key per day)."""
    signer = Signer(ACCESS_KEY, SECRET, "eu-central-1")
    midnight = datetime(2024, 5, 25, tzinfo=UTC).timestamp()
    for moment in (midnight - 1.0, midnight - 0.2, midnight, midnight + 0.7, midnight + 1.0):
        ours_now = signer.headers("GET", "/bucket/k", "", {"host": HOST}, EMPTY_SHA256, moment)
        fresh = sign_headers(
            "GET", "/bucket/k", "", {"host": HOST}, EMPTY_SHA256,
            access_key_id=ACCESS_KEY, secret_access_key=SECRET, region="eu-central-1",
            now=datetime.fromtimestamp(moment, UTC),
        )  # fmt: skip
        assert ours_now == fresh
    assert ours_now["x-amz-date"] == "20240525T000001Z"
    assert "/20240525/eu-central-1/s3/aws4_request" in ours_now["authorization"]
