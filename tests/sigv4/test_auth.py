"""parse_auth and verify: malformed claims, scope, time, presign validity."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sigv4 import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidArgument,
    InvalidRequest,
    PayloadMode,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SignedRequest,
    parse_auth,
    verify,
)
from sigv4.signing import EMPTY_SHA256
from tests.sigv4.helpers import ACCESS_KEY, NOW, SECRET, botocore_presign, botocore_sign

URL = "https://s3.example.com/bucket/key"


def _with_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    kept = tuple((k, v) for k, v in request.headers if k.lower() != name.lower())
    return replace(request, headers=(*kept, (name, value)))


def _auth_header(request: SignedRequest) -> str:
    return next(v for k, v in request.headers if k.lower() == "authorization")


def test_no_sigv4_is_none() -> None:
    assert parse_auth(SignedRequest("GET", "/", "", (("Host", "h"),))) is None
    bearer = SignedRequest("GET", "/", "a=1", (("Authorization", "Bearer sk_x"),))
    assert parse_auth(bearer) is None


def test_header_auth_parsed() -> None:
    auth = parse_auth(botocore_sign("GET", URL))
    assert auth is not None
    assert (auth.kind, auth.access_key_id, auth.date, auth.region, auth.service) == (
        "header",
        ACCESS_KEY,
        "20240524",
        "us-east-1",
        "s3",
    )
    assert auth.amz_date == NOW
    assert auth.expires is None
    assert auth.payload_hash == EMPTY_SHA256


def test_sigv2_header_refused_with_clear_message() -> None:
    request = SignedRequest("GET", "/", "", (("Authorization", "AWS AKID:c2lnbmF0dXJl"),))
    with pytest.raises(InvalidRequest, match="AWS4-HMAC-SHA256"):
        parse_auth(request)


def test_sigv4a_is_refused_as_an_unsupported_mechanism() -> None:
    """SigV4a (multi-region access points) is not implemented: the header answers what S3
    answers to a mechanism a region does not take (400 ``InvalidRequest``, "Please use
    AWS4-HMAC-SHA256"), a presigned URL the parameter error (docs/security.md)."""
    authorization = (
        "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240524/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045022100ab"
    )
    request = SignedRequest("GET", "/", "", (("Host", "h"), ("Authorization", authorization)))
    with pytest.raises(InvalidRequest, match="AWS4-HMAC-SHA256"):
        parse_auth(request)
    presigned = botocore_presign("GET", URL)
    query = presigned.raw_query.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
    with pytest.raises(AuthorizationQueryParametersError, match="AWS4-HMAC-SHA256"):
        parse_auth(replace(presigned, raw_query=query))


def test_sigv2_presigned_refused() -> None:
    request = SignedRequest("GET", "/b/k", "AWSAccessKeyId=AKID&Expires=1&Signature=x", ())
    with pytest.raises(InvalidRequest, match="AWS4-HMAC-SHA256"):
        parse_auth(request)


def test_header_and_query_auth_together_refused() -> None:
    signed = botocore_sign("GET", URL)
    presigned = botocore_presign("GET", URL)
    both = replace(presigned, headers=signed.headers)
    with pytest.raises(InvalidArgument, match="Only one auth mechanism"):
        parse_auth(both)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3, SignedHeaders=host, "
        "Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/2024-05-24/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=xyz",
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=, Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 garbage",
        # near the SDKs' form (read by a regular expression) but not it
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "A" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "a" * 63,
        "AWS4-HMAC-SHA256 Credential=AKID/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "a" * 64 + ", Extra",
        "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=" + "a" * 64,
    ],
)
def test_malformed_authorization_header(authorization: str) -> None:
    request = SignedRequest(
        "GET",
        "/",
        "",
        (("Host", "h"), ("x-amz-date", "20240524T000000Z"), ("Authorization", authorization)),
    )
    with pytest.raises(AuthorizationHeaderMalformed):
        parse_auth(request)


def _claims(credential: str, signed_headers: str) -> SignedRequest:
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, "
        "Signature=" + "a" * 64
    )
    return SignedRequest(
        "GET",
        "/",
        "",
        (("Host", "h"), ("x-amz-date", "20240524T000000Z"), ("Authorization", authorization)),
    )


def test_remembered_claims_stay_bounded_and_malformed_ones_are_never_remembered() -> None:
    # Credential and SignedHeaders parses are remembered per distinct value; a client
    # sending a new value per request must not grow memory, and a value refused once is
    # refused again (nothing malformed is remembered as parsed).
    from sigv4 import auth as module

    for i in range(3 * module._PARSED_LIMIT):
        parsed = parse_auth(_claims(f"AK{i}/20240524/us-east-1/s3/aws4_request", f"host;x-{i}"))
        assert parsed is not None
        assert (parsed.access_key_id, parsed.signed_headers) == (f"AK{i}", ("host", f"x-{i}"))
        assert len(module._credentials) <= module._PARSED_LIMIT
        assert len(module._signed_header_lists) <= module._PARSED_LIMIT
    again = parse_auth(_claims("AK0/20240524/us-east-1/s3/aws4_request", "Host;X-0"))
    assert again is not None and again.signed_headers == ("host", "x-0")
    for _ in range(2):
        with pytest.raises(AuthorizationHeaderMalformed):
            parse_auth(_claims("AK0/20240524/us-east-1/s3/aws4_request", "host;;x"))
        with pytest.raises(AuthorizationHeaderMalformed):
            parse_auth(_claims("AK0/2024-05-24/us-east-1/s3/aws4_request", "host"))


@pytest.mark.parametrize(
    "authorization",
    [
        # the SDKs' form, then what only the general parse reads: no space after the
        # commas, runs of spaces, fields in another order
        "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={h}, Signature={s}",
        "AWS4-HMAC-SHA256 Credential={c},SignedHeaders={h},Signature={s}",
        "AWS4-HMAC-SHA256  Credential={c} ,  SignedHeaders={h} , Signature={s} ",
        "AWS4-HMAC-SHA256 Signature={s}, SignedHeaders={h}, Credential={c}",
    ],
)
def test_every_form_of_the_authorization_header_reads_the_same_claims(
    authorization: str,
) -> None:
    # The SDKs' form is read by one regular expression, any other by splitting on commas:
    # both must find the same claims, and the signature must verify either way.
    signed = botocore_sign("GET", URL)
    sdk = parse_auth(signed)
    assert sdk is not None
    credential = f"{sdk.access_key_id}/{sdk.date}/{sdk.region}/{sdk.service}/aws4_request"
    value = authorization.format(c=credential, h=";".join(sdk.signed_headers), s=sdk.signature)
    other = parse_auth(_with_header(signed, "Authorization", value))
    assert other == sdk
    assert verify(signed, other, SECRET, NOW).seed_signature == sdk.signature


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=X/1/r/s/aws4_request, Credential={c}, "
        "SignedHeaders={h}, Signature={s}",
        "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={h}, Signature={s}, Signature={s}",
        "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders=host, SignedHeaders={h}, Signature={s}",
    ],
)
def test_a_repeated_field_of_the_authorization_header_is_malformed(authorization: str) -> None:
    # The last of two had won: a proxy reading the first would name another key.
    signed = botocore_sign("GET", URL)
    sdk = parse_auth(signed)
    assert sdk is not None
    credential = f"{sdk.access_key_id}/{sdk.date}/{sdk.region}/{sdk.service}/aws4_request"
    value = authorization.format(c=credential, h=";".join(sdk.signed_headers), s=sdk.signature)
    with pytest.raises(AuthorizationHeaderMalformed, match="given twice"):
        parse_auth(_with_header(signed, "Authorization", value))


def test_remembered_dates_stay_bounded_and_invalid_ones_are_refused_each_time() -> None:
    from sigv4 import auth as module

    signed = botocore_sign("GET", URL)
    base = NOW.replace(tzinfo=None)
    for i in range(3 * module._PARSED_LIMIT):
        moment = base + timedelta(seconds=i)
        text = moment.strftime("%Y%m%dT%H%M%SZ")
        parsed = parse_auth(_with_header(signed, "X-Amz-Date", text))
        assert parsed is not None and parsed.amz_date == moment.replace(tzinfo=NOW.tzinfo)
        assert len(module._amz_dates) <= module._PARSED_LIMIT
    for _ in range(2):  # a date that cannot be is never remembered as parsed
        with pytest.raises(AccessDenied):
            parse_auth(_with_header(signed, "X-Amz-Date", "20240231T000000Z"))


def test_missing_date_is_access_denied() -> None:
    signed = botocore_sign("GET", URL)
    request = replace(signed, headers=tuple((k, v) for k, v in signed.headers if k != "X-Amz-Date"))
    with pytest.raises(AccessDenied, match="Date"):
        parse_auth(request)


def test_date_header_instead_of_x_amz_date_verifies() -> None:
    request = botocore_sign("GET", URL, {"Date": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert not any(k.lower() == "x-amz-date" for k, _ in request.headers)
    auth = parse_auth(request)
    assert auth is not None and auth.amz_date == NOW
    assert verify(request, auth, SECRET, NOW).amz_date == "20240524T123045Z"


@pytest.mark.parametrize(
    ("drop", "message"),
    [("X-Amz-Credential", "X-Amz-Credential"), ("X-Amz-Expires", "X-Amz-Expires")],
)
def test_presign_missing_parameter(drop: str, message: str) -> None:
    request = botocore_presign("GET", URL)
    query = "&".join(p for p in request.raw_query.split("&") if not p.startswith(drop + "="))
    with pytest.raises(AuthorizationQueryParametersError, match=message):
        parse_auth(replace(request, raw_query=query))


def test_presign_bad_algorithm() -> None:
    request = botocore_presign("GET", URL)
    query = request.raw_query.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-X")
    with pytest.raises(AuthorizationQueryParametersError, match="X-Amz-Algorithm"):
        parse_auth(replace(request, raw_query=query))


def test_presign_payload_defaults_to_unsigned() -> None:
    auth = parse_auth(botocore_presign("PUT", URL))
    assert auth is not None and auth.payload_hash == "UNSIGNED-PAYLOAD"
    assert auth.expires == 3600


# -- verify: time --------------------------------------------------------------------------


def test_skew_within_limit_accepted_and_beyond_rejected() -> None:
    request = botocore_sign("GET", URL)
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW + timedelta(minutes=14, seconds=59))
    verify(request, auth, SECRET, NOW - timedelta(minutes=15))
    with pytest.raises(RequestTimeTooSkewed) as info:
        verify(request, auth, SECRET, NOW + timedelta(minutes=15, seconds=1))
    assert info.value.code == "RequestTimeTooSkewed"
    assert info.value.extra == {
        "RequestTime": "20240524T123045Z",
        "ServerTime": "2024-05-24T12:45:46Z",
        "MaxAllowedSkewMilliseconds": "900000",
    }
    with pytest.raises(RequestTimeTooSkewed):
        verify(request, auth, SECRET, NOW - timedelta(hours=1))
    verify(request, auth, SECRET, NOW + timedelta(hours=1), max_skew=timedelta(hours=2))


def test_presign_expiry() -> None:
    request = botocore_presign("GET", URL, expires=60)
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW + timedelta(seconds=60))
    with pytest.raises(AccessDenied, match="Request has expired") as info:
        verify(request, auth, SECRET, NOW + timedelta(seconds=61))
    assert info.value.extra["X-Amz-Expires"] == "60"


def test_presign_not_yet_valid() -> None:
    request = botocore_presign("GET", URL)
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW - timedelta(minutes=14))
    with pytest.raises(AccessDenied, match="Request is not yet valid") as info:
        verify(request, auth, SECRET, NOW - timedelta(minutes=16))
    assert info.value.extra == {
        "X-Amz-Date": "1716553845000",  # S3 sends milliseconds since the epoch here
        "Expires": "2024-05-24T13:30:45Z",
        "ServerTime": "2024-05-24T12:14:45Z",
    }


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_presign_expires_bounds(expires: int) -> None:
    request = botocore_presign("GET", URL, expires=expires)
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(AuthorizationQueryParametersError, match="X-Amz-Expires"):
        verify(request, auth, SECRET, NOW)


def test_presign_expires_max_accepted() -> None:
    request = botocore_presign("GET", URL, expires=604800)
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW + timedelta(days=7))


def test_presign_expires_not_a_number() -> None:
    request = botocore_presign("GET", URL)
    query = request.raw_query.replace("X-Amz-Expires=3600", "X-Amz-Expires=soon")
    with pytest.raises(AuthorizationQueryParametersError, match="number"):
        parse_auth(replace(request, raw_query=query))


# -- verify: scope -------------------------------------------------------------------------


def test_host_must_be_signed_header_auth() -> None:
    request = botocore_sign("GET", URL)
    auth = parse_auth(request)
    assert auth is not None
    unsigned_host = replace(auth, signed_headers=("x-amz-date",))
    with pytest.raises(AuthorizationHeaderMalformed, match="host"):
        verify(request, unsigned_host, SECRET, NOW)


def test_host_must_be_signed_query_auth() -> None:
    request = botocore_presign("GET", URL)
    query = request.raw_query.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date")
    auth = parse_auth(replace(request, raw_query=query))
    assert auth is not None
    with pytest.raises(AuthorizationQueryParametersError, match="host"):
        verify(request, auth, SECRET, NOW)


def test_wrong_service() -> None:
    request = botocore_sign("GET", URL)
    header = _auth_header(request).replace("/s3/", "/ec2/")
    request = _with_header(request, "Authorization", header)
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(AuthorizationHeaderMalformed, match="service"):
        verify(request, auth, SECRET, NOW)


def test_wrong_region_when_endpoint_pins_one() -> None:
    request = botocore_sign("GET", URL, region="eu-west-1")
    auth = parse_auth(request)
    assert auth is not None
    assert verify(request, auth, SECRET, NOW).region == "eu-west-1"
    with pytest.raises(AuthorizationHeaderMalformed, match="region") as info:
        verify(request, auth, SECRET, NOW, region="us-east-1")
    assert info.value.extra["Region"] == "us-east-1"


def test_credential_date_must_match_amz_date() -> None:
    request = botocore_sign("GET", URL)
    header = _auth_header(request).replace("/20240524/", "/20240523/")
    request = _with_header(request, "Authorization", header)
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(AuthorizationHeaderMalformed, match="credential date"):
        verify(request, auth, SECRET, NOW)


def test_credential_date_mismatch_presigned() -> None:
    request = botocore_presign("GET", URL)
    query = request.raw_query.replace("%2F20240524%2F", "%2F20240523%2F")
    request = replace(request, raw_query=query)
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(AuthorizationQueryParametersError, match="credential date"):
        verify(request, auth, SECRET, NOW)


def test_junk_content_sha256_is_invalid_argument() -> None:
    request = botocore_sign("PUT", URL, {"X-Amz-Content-SHA256": "nonsense"})
    # botocore overwrote the header with the body hash; put the junk back (unsigned).
    request = _with_header(request, "X-Amz-Content-SHA256", "nonsense")
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(InvalidArgument) as info:
        verify(request, auth, SECRET, NOW)
    assert info.value.extra["ArgumentName"] == "x-amz-content-sha256"


def test_signature_mismatch_carries_debug_info() -> None:
    request = botocore_sign("GET", URL)
    auth = parse_auth(request)
    assert auth is not None
    with pytest.raises(SignatureDoesNotMatch) as info:
        verify(request, auth, "wrong-secret", NOW)
    error = info.value
    assert error.code == "SignatureDoesNotMatch"
    assert error.canonical_request is not None and error.canonical_request.startswith(
        "GET\n/bucket/key\n"
    )
    assert error.string_to_sign is not None and error.string_to_sign.startswith(
        "AWS4-HMAC-SHA256\n"
    )
    assert error.extra["AWSAccessKeyId"] == ACCESS_KEY


def test_verified_request_fields() -> None:
    request = botocore_sign("PUT", URL, body=b"data")
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW)
    assert verified.scope == "20240524/us-east-1/s3/aws4_request"
    assert verified.payload_mode is PayloadMode.SHA256
    assert verified.payload_hash == auth.payload_hash
    assert verified.seed_signature == auth.signature
    assert len(verified.signing_key) == 32


def test_naive_now_is_utc() -> None:
    request = botocore_sign("GET", URL)
    auth = parse_auth(request)
    assert auth is not None
    verify(request, auth, SECRET, NOW.replace(tzinfo=None))
