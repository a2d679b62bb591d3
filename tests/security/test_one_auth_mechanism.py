"""Class: a request that carries an ``Authorization`` header and query-string
authentication (a SigV4 or SigV2 presigned URL).

S3 refuses any such request, whatever the header's scheme: 400 ``InvalidArgument``
"Only one auth mechanism allowed; ..." with ``ArgumentName`` ``Authorization`` (clients
meet it when they follow a redirect to a presigned URL with their own token). Before,
the gateway answered 400 ``InvalidRequest`` for a SigV4 header on a SigV4 URL, 403
``SignatureDoesNotMatch`` for one on a SigV2 URL, and used the URL's principal silently
for any other header (``Bearer`` with another key's secret, ``Basic``): which credential
a request stood for depended on the pair. Real gateway, raw HTTP.

The same class inside header auth: the headers that name the credential, the signing
time or the payload hash (``Authorization``, ``X-Amz-Date``, ``X-Amz-Content-Sha256``,
``X-Amz-Security-Token``) given twice. Before, the first ``Authorization`` won and a
second one (any scheme) was ignored; a repeated ``X-Amz-Date`` or
``X-Amz-Content-Sha256`` got ``SignatureDoesNotMatch`` or not depending on whether the
client signed it. Now each is 400 ``InvalidArgument`` naming the header (``Host`` twice
is refused by the HTTP parser); ``Date`` too when it is the signing time (no
``X-Amz-Date``).

And for the Bearer credentials of both listeners: ``Authorization`` or ``X-API-Key``
given twice. Before, the first of two won (``X-API-Key`` on both listeners,
``Authorization`` on ``/v1``). Now S3 answers 400 ``InvalidArgument`` and ``/v1`` 400
``InvalidRequest`` with an RFC 6750 ``invalid_request`` challenge. One of each stays
allowed: ``Authorization`` wins, whatever the order.

And inside one SigV4 ``Authorization`` header: a component (``Credential``,
``SignedHeaders``, ``Signature``) given twice. Before, the last one won: the key the
request was verified as was not the one a proxy reading the first would name. Now it is
400 ``AuthorizationHeaderMalformed`` "... is given twice".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import basic, make_setup
from tests.e2e.s3util import raw_request, sign
from tests.security.rawhttp import exchange


@pytest.mark.parametrize("presign", ["s3v4", "s3"], ids=["sigv4-url", "sigv2-url"])
@pytest.mark.parametrize("scheme", ["sigv4", "bearer", "basic"])
def test_an_authorization_header_with_a_presigned_url_is_refused(
    gateway: Gateway, s3: Any, bucket: str, presign: str, scheme: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    presigner = gateway.client(signature_version=presign)
    url: str = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=600
    )
    target = url[url.index(f"/{bucket}/") :]
    assert raw_request(gateway, "GET", target).body == b"data"

    headers: dict[str, Any] = {
        "sigv4": sign(gateway, "GET", f"/{bucket}/k"),
        "bearer": {"Authorization": f"Bearer {gateway.secret_key}"},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[scheme]
    response = raw_request(gateway, "GET", target, headers=headers)
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") == "Authorization"
    assert response.xml().findtext("Message", "").startswith("Only one auth mechanism allowed")


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("Authorization", None),  # the same signature again
        ("Authorization", "Bearer sk_not_a_key"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAOTHER/20260101/us-east-1/s3/x"),
        ("X-Amz-Date", None),
        ("X-Amz-Date", "20300101T000000Z"),
        ("X-Amz-Content-SHA256", None),
        ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
    ],
)
def test_a_credential_header_given_twice_is_refused(
    gateway: Gateway, s3: Any, bucket: str, name: str, second: str | None
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    headers = list(sign(gateway, "GET", f"/{bucket}/k").items())
    assert raw_request(gateway, "GET", f"/{bucket}/k", headers=dict(headers)).body == b"data"
    first = next(value for header, value in headers if header.lower() == name.lower())
    response = exchange(gateway, "GET", f"/{bucket}/k", [*headers, (name, second or first)])
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") == name.lower()


@pytest.mark.parametrize(
    "extra",
    [
        "Credential=AKIAOTHERKEY000000001/20260101/us-east-1/s3/aws4_request",
        "Signature=" + "0" * 64,
        "SignedHeaders=host",
    ],
)
def test_a_component_of_the_authorization_header_given_twice_is_refused(
    gateway: Gateway, s3: Any, bucket: str, extra: str
) -> None:
    """Inside one ``Authorization`` header: the last ``Credential`` of two was the key the
    request was verified as, while a proxy in front may read the first. Both orders are
    refused, before any key is looked up; the header as the SDKs write it, and with the
    same component repeated unchanged, too."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    headers = sign(gateway, "GET", f"/{bucket}/k")
    authorization = headers.pop("Authorization")
    algorithm, _, components = authorization.partition(" ")
    repeated = components.split(", ")[0]
    for value in (
        f"{authorization}, {extra}",
        f"{algorithm} {extra}, {components}",
        f"{authorization}, {repeated}",
    ):
        response = raw_request(
            gateway, "GET", f"/{bucket}/k", headers={**headers, "Authorization": value}
        )
        assert (response.status, response.error_code()) == (400, "AuthorizationHeaderMalformed")
        assert b"given twice" in response.body


def test_a_second_authorization_cannot_ride_along_with_a_bearer_key(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """A ``Bearer`` first and a signature second, or the other way round: which key the
    request acts as must not depend on the order a proxy keeps them in."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    signed = list(sign(gateway, "GET", f"/{bucket}/k").items())
    bearer = ("Authorization", f"Bearer {gateway.secret_key}")
    for headers in ([bearer, *signed], [*signed, bearer]):
        response = exchange(gateway, "GET", f"/{bucket}/k", headers)
        assert (response.status, response.error_code()) == (400, "InvalidArgument")


def test_a_repeated_unsigned_payload_hash_cannot_change_the_body(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """``x-amz-content-sha256`` is exempt from the signed-header rule (it is the canonical
    request's last line): a second one beside the signed one is refused, and the object
    stays as it was."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    body = b"new"
    headers = list(sign(gateway, "PUT", f"/{bucket}/k", body=body).items())
    headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    response = exchange(
        gateway,
        "PUT",
        f"/{bucket}/k",
        [*headers, ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
        body=body,
    )
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


def _date_signed(gateway: Gateway, path: str, *, date_signed: bool) -> list[tuple[str, str]]:
    """A GET signed at the time of its ``Date`` header (botocore signs with ``Date``, not
    ``X-Amz-Date``, when the request has one); ``date_signed`` False leaves ``date`` out
    of ``SignedHeaders``: the string to sign still carries the time, all SigV4 asks."""
    request = AWSRequest(method="GET", url=f"{gateway.s3_url}{path}", headers={"Date": "now"})
    signer = S3SigV4Auth(Credentials(gateway.access_key, gateway.secret_key), "s3", "us-east-1")
    if not date_signed:
        every = signer.headers_to_sign

        def without_date(request: Any) -> Any:
            headers = every(request)
            del headers["date"]
            return headers

        signer.headers_to_sign = without_date
    signer.add_auth(request)
    headers = list(request.headers.items())
    assert not any(name.lower() == "x-amz-date" for name, _ in headers)
    return headers


@pytest.mark.parametrize("date_signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("second", [None, "Thu, 01 Jan 2015 00:00:00 GMT"])
def test_a_date_header_that_is_the_signing_time_given_twice_is_refused(
    gateway: Gateway, s3: Any, bucket: str, date_signed: bool, second: str | None
) -> None:
    """Without ``X-Amz-Date``, ``Date`` is the request's signing time: given twice, the
    request stands for whichever copy a reader takes, as with ``X-Amz-Date`` twice.
    Before: with ``date`` unsigned a second copy was ignored (200), signed it failed the
    signature (403). Now both are 400 ``InvalidArgument`` naming ``date``."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    headers = _date_signed(gateway, f"/{bucket}/k", date_signed=date_signed)
    assert exchange(gateway, "GET", f"/{bucket}/k", headers).body == b"data"
    first = next(value for name, value in headers if name == "Date")
    response = exchange(gateway, "GET", f"/{bucket}/k", [*headers, ("Date", second or first)])
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") == "date"


def test_a_date_header_beside_x_amz_date_may_repeat(gateway: Gateway, s3: Any, bucket: str) -> None:
    """With ``X-Amz-Date`` (header auth) or a presigned URL, ``Date`` is no part of the
    signature's time: a repeated unsigned one is left alone, as any header nothing reads
    (docs/security.md)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    dates = [("Date", "Thu, 01 Jan 2015 00:00:00 GMT"), ("Date", "Fri, 02 Jan 2015 00:00:00 GMT")]
    signed = list(sign(gateway, "GET", f"/{bucket}/k").items())
    assert exchange(gateway, "GET", f"/{bucket}/k", [*signed, *dates]).body == b"data"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    target = url[len(gateway.s3_url) :]
    assert exchange(gateway, "GET", target, dates).body == b"data"


def _twice(gateway: Gateway, form: str) -> list[tuple[str, str]]:
    key = gateway.secret_key
    return {
        "authorization twice": [("Authorization", f"Bearer {key}")] * 2,
        "authorization then another": [
            ("Authorization", f"Bearer {key}"),
            ("Authorization", "Bearer sk_not_a_key"),
        ],
        "x-api-key twice": [("X-API-Key", key), ("X-API-Key", "sk_not_a_key")],
        "x-api-key then the key": [("X-API-Key", "sk_not_a_key"), ("X-API-Key", key)],
    }[form]


TWICE = [
    "authorization twice",
    "authorization then another",
    "x-api-key twice",
    "x-api-key then the key",
]


@pytest.mark.parametrize("form", TWICE)
def test_a_rest_credential_header_given_twice_is_refused(gateway: Gateway, form: str) -> None:
    api = gateway.api_port
    response = exchange(gateway, "GET", "/v1/buckets", _twice(gateway, form), port=api)
    assert response.status == 400, response.body
    assert json.loads(response.body)["error"]["code"] == "InvalidRequest"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="nfyio-gateway", error="invalid_request"')


def test_rest_credentials_given_once_each_keep_their_order(gateway: Gateway) -> None:
    """``Authorization`` wins over ``X-API-Key`` whatever their order (a proxy in front
    may ask for an ``x-api-key`` of its own); an empty second copy is no credential."""
    key, api = gateway.secret_key, gateway.api_port
    for headers in (
        [("Authorization", f"Bearer {key}"), ("X-API-Key", "sk_a_proxys_key")],
        [("X-API-Key", "sk_a_proxys_key"), ("Authorization", f"Bearer {key}")],
        [("X-API-Key", key), ("X-API-Key", "")],
        # a blank first copy: the given one is read (it was: anonymous, so 401)
        [("X-API-Key", ""), ("X-API-Key", key)],
    ):
        response = exchange(gateway, "GET", "/v1/buckets", headers, port=api)
        assert response.status == 200, (headers, response.body)


@pytest.mark.parametrize("form", TWICE)
def test_an_s3_bearer_credential_given_twice_is_refused(
    gateway: Gateway, s3: Any, bucket: str, form: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    alone = exchange(gateway, "GET", f"/{bucket}/k", [("X-API-Key", gateway.secret_key)])
    assert alone.body == b"data"
    response = exchange(gateway, "GET", f"/{bucket}/k", _twice(gateway, form))
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body


def test_an_s3_x_api_key_with_a_blank_second_copy_is_taken(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """As on ``/v1``: a blank ``X-API-Key`` is no credential, so a blank copy, first or
    second, makes no second credential and the copy given is the one read (a blank first
    copy made the request anonymous): ``gateway.auth.credentials`` reads both listeners'."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    key = gateway.secret_key
    for blank in ("", "  "):
        for headers in (
            [("X-API-Key", key), ("X-API-Key", blank)],
            [("X-API-Key", blank), ("X-API-Key", key)],
        ):
            response = exchange(gateway, "GET", f"/{bucket}/k", headers)
            assert (response.status, response.body) == (200, b"data"), headers


@pytest.mark.parametrize("blank_first", [True, False], ids=["blank-first", "blank-second"])
def test_an_oauth_client_authorization_with_a_blank_copy_is_taken(
    gateway: Gateway, blank_first: bool
) -> None:
    """OAuth's Basic client authentication reads a blank copy as the credential headers
    do (``gateway.auth.credentials.given``): no second credential, the copy given is read."""
    setup = make_setup(gateway, grant_types=["client_credentials"])
    credential = ("Authorization", basic(setup.client_id, setup.client_secret)["Authorization"])
    copies = [("Authorization", " "), credential]
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        *(copies if blank_first else copies[::-1]),
    ]
    body = b"grant_type=client_credentials"
    response = exchange(gateway, "POST", "/oauth/token", headers, body, port=gateway.api_port)
    assert response.status == 200, response.body
    assert json.loads(response.body)["token_type"] == "Bearer"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("second", ["same client", "another client"])
def test_an_oauth_client_authorization_given_twice_is_refused(
    gateway: Gateway, path: str, second: str
) -> None:
    """The OAuth endpoints too (RFC 6749 2.3: one client authentication per request).
    Before, the first Basic header won: ``/oauth/token`` issued a token to the first of
    two clients, whatever the second said. Now 400 ``invalid_request``, never cached,
    before any secret is checked."""
    grants = ["client_credentials"]
    one, other = (make_setup(gateway, grant_types=grants) for _ in range(2))
    first = basic(one.client_id, one.client_secret)["Authorization"]
    if second == "another client":
        again = basic(other.client_id, other.client_secret)["Authorization"]
    else:
        again = first
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", first),
        ("Authorization", again),
    ]
    body = b"grant_type=client_credentials&token=tok_unknown"
    alone = exchange(gateway, "POST", path, headers[:2], body, port=gateway.api_port)
    assert alone.status == 200, alone.body
    response = exchange(gateway, "POST", path, headers, body, port=gateway.api_port)
    assert response.status == 400, response.body
    assert json.loads(response.body)["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"
