"""Bucket CORS through boto3 and plain HTTP, on every backend and over HTTP and HTTPS:
Put/Get/DeleteBucketCors with S3's validation, preflight OPTIONS answered from the rules,
and the headers actual requests (errors included) get when they carry an Origin.

The configuration is kept by the gateway (state store), so the same answers hold whatever
the upstream store is.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import RawResponse, added_header, expect_error, raw_request, sign, unique

APP = "https://app.example.com"
OTHER = "https://evil.example.net"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)

RULES: dict[str, Any] = {
    "CORSRules": [
        {
            "ID": "app-uploads",
            "AllowedOrigins": [APP],
            "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
            "AllowedHeaders": ["content-type", "x-amz-*"],
            "ExposeHeaders": ["ETag", "x-amz-version-id", "x-amz-request-id"],
            "MaxAgeSeconds": 600,
        },
        {
            "AllowedOrigins": ["http://*.example.org"],
            "AllowedMethods": ["GET"],
        },
        {"AllowedOrigins": [APP], "AllowedMethods": ["DELETE"], "MaxAgeSeconds": 5},
    ]
}


def preflight(
    gw: Gateway,
    path: str,
    *,
    origin: str | None = APP,
    method: str | None = "PUT",
    request_headers: str | None = None,
) -> RawResponse:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if method is not None:
        headers["Access-Control-Request-Method"] = method
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return raw_request(gw, "OPTIONS", path, headers=headers)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# --- the cors subresource ---------------------------------------------------------------


def test_put_get_delete_bucket_cors(s3: Any, bucket: str) -> None:
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0] == {
        "ID": "app-uploads",
        "AllowedHeaders": ["content-type", "x-amz-*"],
        "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
        "AllowedOrigins": [APP],
        "ExposeHeaders": ["ETag", "x-amz-version-id", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
    }
    assert got[1] == {"AllowedMethods": ["GET"], "AllowedOrigins": ["http://*.example.org"]}
    assert len(got) == 3
    s3.delete_bucket_cors(Bucket=bucket)
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)
    s3.delete_bucket_cors(Bucket=bucket)  # deleting nothing is fine, as in S3


def test_cors_of_a_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    missing = unique("nobucket")
    expect_error("NoSuchBucket", 404, s3.get_bucket_cors, Bucket=missing)
    expect_error("NoSuchBucket", 404, s3.put_bucket_cors, Bucket=missing, CORSConfiguration=RULES)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]},
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        ),
        (
            {"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]},
            'AllowedOrigin "https://*.*.example.com" can not have more than one wildcard.',
        ),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]},
            'AllowedHeader "x-*-*" can not have more than one wildcard.',
        ),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["x-amz-*"]},
            'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard '
            "for ExposeHeader.",
        ),
    ],
)
def test_rules_s3_refuses_are_invalid_request(
    s3: Any, bucket: str, rule: dict[str, Any], message: str
) -> None:
    exc = expect_error(
        "InvalidRequest",
        400,
        s3.put_bucket_cors,
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [rule]},
    )
    assert exc.response["Error"]["Message"] == message
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)


def test_allowed_headers_come_back_as_put_and_match_in_any_case(
    any_gateway: Gateway, s3: Any, bucket: str
) -> None:
    """GetBucketCors returns the configuration as it was put (tools that compare what they
    set with what they read, such as Terraform, would otherwise never settle); matching
    ignores case."""
    rule = {
        "AllowedOrigins": [APP],
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["Content-Type", "X-Amz-Meta-*"],
    }
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [rule]
    reply = preflight(any_gateway, f"/{bucket}/k", request_headers="content-type, x-amz-meta-Owner")
    assert reply.status == 200, reply.body
    assert lower(reply.headers)["access-control-allow-headers"] == "content-type, x-amz-meta-owner"


def test_expose_header_takes_any_header_name(s3: Any, bucket: str) -> None:
    """Metadata names may hold ``_`` and ``.`` (RFC 9110 tokens): a page can be let read
    them, as S3 lets it."""
    exposed = ["ETag", "x-amz-meta-my_key", "x-amz-meta-v1.2"]
    rule = {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "ExposeHeaders": exposed}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["ExposeHeaders"] == exposed
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"my_key": "v"})
    with added_header(s3, "Origin", APP):
        got = s3.get_object(Bucket=bucket, Key="k")
    got["Body"].read()
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-expose-headers"] == ", ".join(exposed)
    assert headers["x-amz-meta-my_key"] == "v"


def test_more_than_100_rules_are_refused(s3: Any, bucket: str) -> None:
    rule = {"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule] * 100})
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100
    exc = expect_error(
        "InvalidRequest",
        400,
        s3.put_bucket_cors,
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [rule] * 101},
    )
    assert "100" in exc.response["Error"]["Message"]


@pytest.mark.parametrize(
    "document",
    [
        b"<CORSConfiguration/>",
        b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod><Unknown>1</Unknown></CORSRule>"
        b"</CORSConfiguration>",
        b"<Other/>",
        b"not xml",
    ],
)
def test_documents_outside_the_schema_are_malformed_xml(
    any_gateway: Gateway, bucket: str, document: bytes
) -> None:
    path = f"/{bucket}?cors"
    digest = {"Content-MD5": base64.b64encode(hashlib.md5(document).digest()).decode()}
    headers = sign(any_gateway, "PUT", path, body=document, headers=digest)
    reply = raw_request(any_gateway, "PUT", path, body=document, headers=headers)
    assert reply.status == 400, reply.body
    assert reply.error_code() == "MalformedXML"


def test_cors_needs_bucket_scopes(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    key = make_key(any_gateway, scopes=["read:objects", "write:objects"])
    client = any_gateway.client(key["id"], key["secret"])
    expect_error(
        "AccessDenied", 403, client.put_bucket_cors, Bucket=bucket, CORSConfiguration=RULES
    )
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    expect_error("AccessDenied", 403, client.get_bucket_cors, Bucket=bucket)
    expect_error("AccessDenied", 403, client.delete_bucket_cors, Bucket=bucket)


# --- preflight --------------------------------------------------------------------------


def test_preflight_answers_from_the_first_matching_rule(
    s3: Any, any_gateway: Gateway, bucket: str
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(
        any_gateway, f"/{bucket}/dir/a%20file.txt", request_headers="Content-Type, X-Amz-Meta-A"
    )
    assert reply.status == 200, reply.body
    headers = lower(reply.headers)
    assert headers["access-control-allow-origin"] == APP
    assert headers["access-control-allow-methods"] == "PUT, POST, GET, HEAD"
    assert headers["access-control-allow-headers"] == "content-type, x-amz-meta-a"
    assert headers["access-control-expose-headers"] == "ETag, x-amz-version-id, x-amz-request-id"
    assert headers["access-control-max-age"] == "600"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == VARY
    assert reply.body == b""
    # DELETE: the first rule does not allow it, the third does
    reply = preflight(any_gateway, f"/{bucket}/k", method="DELETE")
    assert reply.status == 200
    assert lower(reply.headers)["access-control-max-age"] == "5"
    # the bucket URL too
    assert preflight(any_gateway, f"/{bucket}", method="POST").status == 200


def test_preflight_wildcard_origin(s3: Any, any_gateway: Gateway, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(any_gateway, f"/{bucket}/k", origin="http://www.example.org", method="GET")
    assert reply.status == 200
    assert lower(reply.headers)["access-control-allow-origin"] == "http://www.example.org"
    # the wildcard covers a part of the origin, not another scheme or suffix
    for origin in ("https://www.example.org", "http://www.example.org.evil.net"):
        assert preflight(any_gateway, f"/{bucket}/k", origin=origin, method="GET").status == 403


def test_any_origin_is_answered_with_a_star_and_no_credentials(
    s3: Any, any_gateway: Gateway, bucket: str
) -> None:
    rules = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=rules)
    reply = preflight(any_gateway, f"/{bucket}/k", origin=OTHER, method="GET")
    assert reply.status == 200
    headers = lower(reply.headers)
    assert headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        (OTHER, "PUT", None),  # origin not listed
        (APP, "PATCH", None),  # method no rule allows
        (APP, "PUT", "content-type, authorization"),  # a header no rule allows
        ("http://www.example.org", "GET", "x-custom"),  # rule without AllowedHeader
    ],
)
def test_preflight_without_a_matching_rule_is_access_forbidden(
    s3: Any,
    any_gateway: Gateway,
    bucket: str,
    origin: str,
    method: str,
    request_headers: str | None,
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(
        any_gateway, f"/{bucket}/key", origin=origin, method=method, request_headers=request_headers
    )
    assert reply.status == 403
    assert reply.error_code() == "AccessForbidden"
    assert reply.xml().findtext("Message") == NOT_ALLOWED
    assert reply.xml().findtext("Method") == method
    assert reply.xml().findtext("ResourceType") == "OBJECT"
    assert "access-control-allow-origin" not in lower(reply.headers)


def test_preflight_without_configuration_is_access_forbidden(
    any_gateway: Gateway, bucket: str
) -> None:
    for path in (f"/{bucket}/k", f"/{bucket}", f"/{unique('missing')}/k", "/"):
        reply = preflight(any_gateway, path)
        assert reply.status == 403, path
        assert reply.error_code() == "AccessForbidden"
        assert (
            reply.xml().findtext("Message") == "CORSResponse: CORS is not enabled for this bucket."
        )


def test_preflight_needs_origin_and_method(s3: Any, any_gateway: Gateway, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    reply = preflight(any_gateway, f"/{bucket}/k", origin=None)
    assert (reply.status, reply.error_code()) == (400, "BadRequest")
    assert "Origin" in (reply.xml().findtext("Message") or "")
    reply = preflight(any_gateway, f"/{bucket}/k", method=None)
    assert (reply.status, reply.error_code()) == (400, "BadRequest")


# --- actual requests --------------------------------------------------------------------


def test_actual_requests_get_cors_headers_only_with_an_origin(s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    plain = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")["ResponseMetadata"]
    assert not any(h.startswith("access-control-") for h in plain["HTTPHeaders"])
    assert plain["HTTPHeaders"]["vary"] == VARY  # for caches (docs/cors.md)
    with added_header(s3, "Origin", APP):
        put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello")["ResponseMetadata"]
        got = s3.get_object(Bucket=bucket, Key="k")
        got["Body"].read()
    for meta in (put, got["ResponseMetadata"]):
        headers = meta["HTTPHeaders"]
        assert headers["access-control-allow-origin"] == APP
        assert (
            headers["access-control-expose-headers"] == "ETag, x-amz-version-id, x-amz-request-id"
        )
        assert headers["access-control-allow-credentials"] == "true"
        assert headers["vary"] == VARY
    # a method no rule allows for this origin: no grant, but Vary for caches
    with added_header(s3, "Origin", OTHER):
        other = s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert "access-control-allow-origin" not in other
    assert other["vary"] == VARY


def test_error_responses_carry_cors_headers(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    with added_header(s3, "Origin", APP):
        exc = expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="missing")
    assert exc.response["ResponseMetadata"]["HTTPHeaders"]["access-control-allow-origin"] == APP
    # refused before any access decision: a wrong signature
    bad = any_gateway.client(secret_key="not-the-secret")
    with added_header(bad, "Origin", APP):
        exc = expect_error("SignatureDoesNotMatch", 403, bad.get_object, Bucket=bucket, Key="k")
    headers = exc.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-allow-origin"] == APP
    assert headers["access-control-expose-headers"] == "ETag, x-amz-version-id, x-amz-request-id"
    # anonymous and refused
    reply = raw_request(any_gateway, "GET", f"/{bucket}/k", headers={"Origin": APP})
    assert reply.status == 403
    assert lower(reply.headers)["access-control-allow-origin"] == APP


def test_buckets_without_cors_answer_no_cors_headers(s3: Any, bucket: str) -> None:
    with added_header(s3, "Origin", APP):
        meta = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ResponseMetadata"]
    assert not any(h.startswith("access-control-") for h in meta["HTTPHeaders"])


def test_deleting_the_bucket_forgets_its_cors(s3: Any, any_gateway: Gateway) -> None:
    name = unique("corsdel")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration=RULES)
    s3.delete_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=name)
    assert preflight(any_gateway, f"/{name}/k").status == 403
