"""SigV2 presigned URLs (boto3's default for generate_presigned_url) against botocore."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import (
    AccessDenied,
    AuthorizationQueryParametersError,
    InvalidURI,
    SignatureDoesNotMatch,
    SignedRequest,
    parse_auth,
    parse_presigned_v2,
    verify_presigned_v2,
)
from sigv4.errors import InvalidRequest
from sigv4.presign_v2 import canonical_resource_v2

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
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
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


# -- lifetime, absurd Expires, percent-encoded subresource names ---------------------------


def _with_expires(expires_text: str) -> SignedRequest:
    query = f"AWSAccessKeyId={ACCESS_KEY}&Expires={expires_text}&Signature=c2lnbmF0dXJl"
    return SignedRequest("GET", "/bucket/k", query, (("Host", "127.0.0.1:7007"),))


def test_lifetime_capped_at_seven_days_plus_skew() -> None:
    now = datetime(2024, 5, 24, tzinfo=UTC)
    week = 7 * 24 * 3600
    at_limit = _presign_at(now.timestamp() + week)
    auth = parse_presigned_v2(at_limit)
    assert auth is not None
    verify_presigned_v2(at_limit, auth, SECRET, now)  # exactly seven days: fine
    too_long = _presign_at(now.timestamp() + week + 15 * 60 + 1)
    auth = parse_presigned_v2(too_long)
    assert auth is not None
    with pytest.raises(AccessDenied, match="seven days"):
        verify_presigned_v2(too_long, auth, SECRET, now)
    decades = _presign_at(now.timestamp() + 30 * 365 * 86400)
    auth = parse_presigned_v2(decades)
    assert auth is not None
    with pytest.raises(AccessDenied):
        verify_presigned_v2(decades, auth, SECRET, now)


def _presign_at(expires: float) -> SignedRequest:
    """A correctly signed URL with an absolute Expires of our choosing."""
    with mock.patch("time.time", return_value=expires - 3600):
        signed, _ = presign("GET", "/bucket/k")
    return signed


@pytest.mark.parametrize(
    "expires",
    [
        "-99999999999999999",
        "99999999999999999999",
        "999999999999999999999999999999",
        "-1",
        "0",
        "abc",
        "",
        "1e10",
        "+1700000000",
        " 1700000000",
        "1_700_000_000",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits: int() would take them
        "1700000000.5",
    ],
)
def test_absurd_expires_is_access_denied_never_a_crash(expires: str) -> None:
    request = _with_expires(quote(expires, safe=""))
    now = datetime(2024, 5, 24, tzinfo=UTC)
    with pytest.raises(AccessDenied):
        auth = parse_presigned_v2(request)
        assert auth is not None
        verify_presigned_v2(request, auth, SECRET, now)


def test_missing_expires_is_a_malformed_query() -> None:
    request = SignedRequest(
        "GET", "/b/k", f"AWSAccessKeyId={ACCESS_KEY}&Signature=x", (("Host", "h"),)
    )
    with pytest.raises(AuthorizationQueryParametersError):
        parse_presigned_v2(request)


@pytest.mark.parametrize(
    ("method", "added"),
    [
        ("GET", "%61cl"),
        ("GET", "%61%63%6C"),
        ("PUT", "%75ploadId=abc&partNumber=1"),
        ("PUT", "uploadId=abc&%70artNumber=1"),
        ("DELETE", "%75ploadId=abc"),
        ("GET", "%74agging"),
        ("GET", "version%49d=null"),
    ],
)
def test_percent_encoded_subresource_names_are_signed_as_routed(method: str, added: str) -> None:
    """Routing decodes ``%61cl`` to ``acl``; so does signing: a URL signed without the
    subresource does not verify once it is added in any spelling."""
    signed, expires = presign(method, "/bucket/k")
    auth = parse_presigned_v2(signed)
    assert auth is not None
    tampered = SignedRequest(method, signed.raw_path, f"{signed.raw_query}&{added}", signed.headers)
    with pytest.raises(SignatureDoesNotMatch):
        verify_presigned_v2(tampered, auth, SECRET, now_before(expires))


def test_percent_encoded_subresource_signed_decoded_verifies() -> None:
    """A signer that signed ``acl`` and a client that sent it as ``%61cl``: same resource."""
    signed, expires = presign("GET", "/bucket/k", "acl")
    auth = parse_presigned_v2(signed)
    assert auth is not None
    assert signed.raw_query.startswith("acl")
    respelled = SignedRequest(
        "GET", signed.raw_path, "%61cl" + signed.raw_query[3:], signed.headers
    )
    verify_presigned_v2(respelled, auth, SECRET, now_before(expires))
    assert canonical_resource_v2("/bucket/k", "%61cl&uploadId=a%2Bb") == (
        "/bucket/k?acl&uploadId=a+b"
    )


def test_subresource_name_with_invalid_utf8_is_invalid_uri() -> None:
    with pytest.raises(InvalidURI):
        canonical_resource_v2("/b/k", "%ff%fe=1")
