"""SigV2 presigned URLs (boto3's default for generate_presigned_url) against botocore."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import (
    AccessDenied,
    SignatureDoesNotMatch,
    SignedRequest,
    parse_auth,
    parse_presigned_v2,
    verify_presigned_v2,
)
from sigv4.errors import InvalidRequest

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def presign(
    method: str, path: str, query: str = "", headers: dict[str, str] | None = None
) -> tuple[SignedRequest, int]:
    """Presign like boto3's generate_presigned_url does (HmacV1QueryAuth)."""
    url = f"http://127.0.0.1:7007{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    HmacV1QueryAuth(Credentials(ACCESS_KEY, SECRET), expires=3600).add_auth(request)
    parts = urlsplit(request.url)
    expires = int(dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)["Expires"])
    signed = SignedRequest(
        method=method,
        raw_path=parts.path,
        raw_query=parts.query,
        headers=(("Host", "127.0.0.1:7007"),),
    )
    return signed, expires


def now_before(expires: int) -> datetime:
    return datetime.fromtimestamp(expires - 10, UTC)


def test_botocore_presigned_get_verifies() -> None:
    signed, expires = presign("GET", "/bucket/some%20key")
    auth = parse_presigned_v2(signed)
    assert auth is not None
    assert auth.access_key_id == ACCESS_KEY
    assert auth.expires == expires
    verify_presigned_v2(signed, auth, SECRET, now_before(expires))


def test_subresources_and_response_overrides_are_signed() -> None:
    signed, expires = presign(
        "GET", "/bucket/k", "response-content-type=text%2Fplain&versionId=null&x-id=GetObject"
    )
    auth = parse_presigned_v2(signed)
    assert auth is not None
    verify_presigned_v2(signed, auth, SECRET, now_before(expires))
    tampered = SignedRequest(
        signed.method,
        signed.raw_path,
        signed.raw_query.replace("text%2Fplain", "text%2Fhtml"),
        signed.headers,
    )
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2(tampered, auth, SECRET, now_before(expires))


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]),
    key=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    ),
)
def test_any_key_verifies_and_a_changed_byte_fails(method: str, key: str) -> None:
    path = "/bucket/" + quote(key, safe="/~")
    signed, expires = presign(method, path)
    auth = parse_presigned_v2(signed)
    assert auth is not None
    verify_presigned_v2(signed, auth, SECRET, now_before(expires))
    other_method = "POST" if method != "POST" else "GET"
    for variant in (
        SignedRequest(other_method, signed.raw_path, signed.raw_query, signed.headers),
        SignedRequest(method, signed.raw_path + "x", signed.raw_query, signed.headers),
    ):
        with pytest.raises(SignatureDoesNotMatch):
            verify_presigned_v2(variant, auth, SECRET, now_before(expires))
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2(signed, auth, SECRET + "x", now_before(expires))


def test_content_type_signed_in_query_must_match_the_header() -> None:
    signed, expires = presign("PUT", "/bucket/k", headers={"Content-Type": "text/plain"})
    assert "content-type=text%2Fplain" in signed.raw_query
    auth = parse_presigned_v2(signed)
    assert auth is not None
    verify_presigned_v2(signed, auth, SECRET, now_before(expires))
    with_header = SignedRequest(
        "PUT", signed.raw_path, signed.raw_query, (*signed.headers, ("Content-Type", "image/png"))
    )
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2(with_header, auth, SECRET, now_before(expires))


def test_expired_url_is_access_denied() -> None:
    signed, expires = presign("GET", "/bucket/k")
    auth = parse_presigned_v2(signed)
    assert auth is not None
    with pytest.raises(AccessDenied, match="expired"):
        verify_presigned_v2(signed, auth, SECRET, datetime.fromtimestamp(expires + 1, UTC))


def test_virtual_hosted_resource_includes_the_bucket() -> None:
    url = "http://bucket.s3.example.com/k"
    request = AWSRequest(method="GET", url=url)
    request.auth_path = "/bucket/k"
    HmacV1QueryAuth(Credentials(ACCESS_KEY, SECRET), expires=60).add_auth(request)
    parts = urlsplit(request.url)
    signed = SignedRequest("GET", parts.path, parts.query, (("Host", parts.netloc),))
    auth = parse_presigned_v2(signed)
    assert auth is not None
    verify_presigned_v2(signed, auth, SECRET, datetime.now(UTC), bucket_path="/bucket")
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2(signed, auth, SECRET, datetime.now(UTC))


def test_not_a_v2_presign() -> None:
    plain = SignedRequest("GET", "/b/k", "prefix=a", (("Host", "h"),))
    assert parse_presigned_v2(plain) is None


def test_sigv2_header_auth_is_still_refused() -> None:
    request = SignedRequest("GET", "/b/k", "", (("Host", "h"), ("Authorization", "AWS AK:sig")))
    with pytest.raises(InvalidRequest):
        parse_auth(request)


def test_time_module_is_not_needed() -> None:
    """The verifier takes the clock as a parameter: a far-future ``now`` expires the URL."""
    signed, expires = presign("GET", "/bucket/k")
    auth = parse_presigned_v2(signed)
    assert auth is not None
    assert expires > time.time()
    with pytest.raises(AccessDenied):
        verify_presigned_v2(signed, auth, SECRET, datetime(2100, 1, 1, tzinfo=UTC))
