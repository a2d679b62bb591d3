"""The lean client's signer (``backends.s3.signer.LeanSigner``) gives the headers
``sigv4.outgoing.Signer`` gives (its general steps), and botocore's: for the one-header
request it spells out and for every other, one signer reused across hosts, seconds and
days as the lean client reuses it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.s3.signer import LeanSigner
from sigv4.outgoing import UNSIGNED_PAYLOAD, Signer, encode_path, encode_query
from sigv4.signing import EMPTY_SHA256
from tests.sigv4.helpers import ACCESS_KEY, NOW, SECRET, botocore_sign
from tests.sigv4.test_outgoing import UNSIGNED, headers, keys, queries

_hosts = st.sampled_from(
    ["s3.example.com:9000", "127.0.0.1:8333", "bucket.s3.eu-central-1.amazonaws.com", "h"]
)
_methods = st.sampled_from(["HEAD", "GET", "PUT", "head"])
_payloads = st.sampled_from(
    [EMPTY_SHA256, UNSIGNED_PAYLOAD, hashlib.sha256(b"payload bytes").hexdigest()]
)
# offsets from NOW: the same second, the next ones, across the day's end, back in time
_offsets = st.lists(
    st.sampled_from([0.0, 0.4, 1.0, 2.7, 41_354.9, 41_355.0, 86_400.0, -1.0, -86_400.0]),
    min_size=1,
    max_size=6,
)
_requests = st.tuples(_methods, _hosts, keys, queries, headers, _payloads)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["us-east-1", "eu-central-1"]),
    st.lists(_requests, min_size=1, max_size=6),
    _offsets,
)
def test_the_same_headers_as_the_general_signer(
    region: str,
    requests: list[tuple[str, str, str, list[tuple[str, str]], dict[str, str], str]],
    offsets: list[float],
) -> None:
    lean = LeanSigner(ACCESS_KEY, SECRET, region)
    for i, (method, host, key, query, extra, payload) in enumerate(requests):
        now = NOW.timestamp() + offsets[i % len(offsets)]
        path, raw_query = encode_path("bucket", key), encode_query(query)
        signed = {"host": host, **extra}
        general = Signer(ACCESS_KEY, SECRET, region)
        expected = general.headers(method, path, raw_query, signed, payload, now)
        assert lean.headers(method, path, raw_query, signed, payload, now) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["HEAD", "GET"]), keys, queries, st.booleans())
def test_a_host_only_request_signed_as_botocore_signs_it(
    method: str, key: str, query: list[tuple[str, str]], unsigned: bool
) -> None:
    lean = LeanSigner(ACCESS_KEY, SECRET, "us-east-1")
    path, raw_query = encode_path("bucket", key), encode_query(query)
    host = "s3.example.com:9000"
    payload = UNSIGNED_PAYLOAD if unsigned else EMPTY_SHA256
    url = f"http://{host}{path}" + (f"?{raw_query}" if raw_query else "")
    theirs = {
        name.lower(): value
        for name, value in botocore_sign(
            method, url, {}, b"", context=UNSIGNED if unsigned else None
        ).headers
    }
    # a second earlier first: the signer's kept second and day move on to NOW's
    lean.headers(method, path, raw_query, {"host": host}, payload, NOW.timestamp() - 1)
    ours = lean.headers(method, path, raw_query, {"host": host}, payload, NOW.timestamp())
    assert theirs["x-amz-content-sha256"] == payload
    for name in ("authorization", "x-amz-date", "x-amz-content-sha256"):
        assert ours[name] == theirs[name]


def test_the_host_line_follows_the_host() -> None:
    lean = LeanSigner(ACCESS_KEY, SECRET, "us-east-1")
    now = NOW.timestamp()
    for host in ("a.example:1", "b.example:1", "a.example:1", " a.example:1 "):
        expected = Signer(ACCESS_KEY, SECRET, "us-east-1").headers(
            "HEAD", "/b/k", "", {"host": host}, EMPTY_SHA256, now
        )
        assert lean.headers("HEAD", "/b/k", "", {"host": host}, EMPTY_SHA256, now) == expected
    later = (NOW + timedelta(days=1, seconds=3)).timestamp()
    assert lean.headers("GET", "/b/k", "", {"host": "h"}, EMPTY_SHA256, later)[
        "authorization"
    ].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240525/us-east-1/s3/aws4_request, ")
