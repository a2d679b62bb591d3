"""Class: CORS must never authorise anything or leak anything.

A preflight ``OPTIONS`` is unauthenticated by design, so it is answered from the CORS
rules alone: a signature or presigned query on it does nothing, it never touches or
returns an object, it answers the same for a missing bucket and a private one, and a CORS
rule grants a browser the right to *read the answer*, never the right to *act*. A
request without ``Origin`` gets no CORS header at all.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request, sign, unique

APP = "https://app.example.com"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
OPEN_RULES = {
    "CORSRules": [
        {
            "AllowedOrigins": [APP, "https://*.example.org"],
            "AllowedMethods": ["GET", "PUT", "POST", "DELETE", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
        }
    ]
}


def preflight(gw: Gateway, target: str, **headers: str) -> RawResponse:
    sent = {"Origin": APP, "Access-Control-Request-Method": "DELETE", **headers}
    return raw_request(gw, "OPTIONS", target, headers=sent)


def test_a_signed_or_presigned_preflight_does_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=OPEN_RULES)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"precious", Metadata={"m": "1"})
    url = s3.generate_presigned_url("delete_object", Params={"Bucket": bucket, "Key": "keep"})
    parts = urlsplit(url)
    reply = preflight(gateway, f"{parts.path}?{parts.query}")
    assert reply.status == 200
    signed = sign(gateway, "OPTIONS", f"/{bucket}/keep")
    reply = raw_request(
        gateway,
        "OPTIONS",
        f"/{bucket}/keep?delete",
        headers={**signed, "Origin": APP, "Access-Control-Request-Method": "DELETE"},
        body=b"<Delete><Object><Key>keep</Key></Object></Delete>",
    )
    assert reply.status == 200
    # the answer is the rule's headers and nothing of the object
    assert reply.body == b""
    names = {name.lower() for name in reply.headers}
    assert not names & {"etag", "last-modified", "x-amz-meta-m", "x-amz-version-id"}
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"precious"


def test_preflight_with_a_bad_signature_is_still_only_a_preflight(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=OPEN_RULES)
    reply = preflight(
        gateway,
        f"/{bucket}/k",
        Authorization="AWS4-HMAC-SHA256 Credential=AKIANOBODY/20300101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
    )
    assert reply.status == 200  # nobody was authenticated, nobody was refused


def test_preflight_is_no_bucket_existence_oracle(gateway: Gateway, bucket: str) -> None:
    existing = preflight(gateway, f"/{bucket}/k")
    missing = preflight(gateway, f"/{unique('never')}/k")
    assert (existing.status, existing.error_code()) == (missing.status, missing.error_code())
    assert existing.xml().findtext("Message") == missing.xml().findtext("Message")


def test_a_cors_rule_grants_no_access(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=OPEN_RULES)
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
    for method, target in (("GET", "/private"), ("PUT", "/new"), ("DELETE", "/private")):
        reply = raw_request(gateway, method, f"/{bucket}{target}", headers={"Origin": APP})
        assert reply.status == 403, (method, reply.body)
        assert reply.error_code() == "AccessDenied"
        assert b"secret" not in reply.body
    assert s3.get_object(Bucket=bucket, Key="private")["Body"].read() == b"secret"


def test_only_listed_origins_are_reflected(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=OPEN_RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for origin in (
        "https://app.example.com.evil.net",
        "https://evil.net/https://app.example.com",
        "null",
        "https://example.org",  # the wildcard needs its dot
        "http://a.example.org",  # and its scheme
    ):
        reply = preflight(gateway, f"/{bucket}/k", Origin=origin)
        assert reply.status == 403, origin
        headers = sign(gateway, "GET", f"/{bucket}/k")
        actual = raw_request(gateway, "GET", f"/{bucket}/k", headers={**headers, "Origin": origin})
        assert actual.status == 200
        assert "Access-Control-Allow-Origin" not in actual.headers, origin


def test_requests_without_origin_get_no_cors_headers(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """Nothing is granted without an ``Origin``; ``Vary`` tells caches the answer would
    differ with one (docs/cors.md)."""
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=OPEN_RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for method, target in (("GET", f"/{bucket}/k"), ("GET", f"/{bucket}/missing")):
        reply = raw_request(gateway, method, target, headers=sign(gateway, method, target))
        names = {name.lower() for name in reply.headers}
        assert not any(name.startswith("access-control-") for name in names), names
        assert {k.lower(): v for k, v in reply.headers.items()}["vary"] == VARY
    # a bucket without rules: no header at all
    s3.delete_bucket_cors(Bucket=bucket)
    target = f"/{bucket}/k"
    reply = raw_request(gateway, "GET", target, headers=sign(gateway, "GET", target))
    assert "vary" not in {name.lower() for name in reply.headers}


def test_odd_origins_never_break_the_response(gateway: Gateway, s3: Any, bucket: str) -> None:
    rules = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=rules)
    for origin in ("x" * 6000, "https://é.example", "a\tb", ""):
        reply = preflight(
            gateway, f"/{bucket}/k", Origin=origin, **{"Access-Control-Request-Method": "GET"}
        )
        assert reply.status in (200, 400), origin
        if reply.status == 200:
            assert reply.headers["Access-Control-Allow-Origin"] == "*"
