"""The CORS rule model: parsing with S3's validation, storage round trip, and matching."""

from __future__ import annotations

import pytest

from gateway.s3.cors_rules import (
    VARY,
    CorsRule,
    find_rule,
    parse_cors_xml,
    render_cors_xml,
    request_headers,
    response_headers,
    rules_from_json,
    rules_to_json,
)
from gateway.s3.errors import S3Error


def doc(*rules: str) -> bytes:
    body = "".join(f"<CORSRule>{r}</CORSRule>" for r in rules)
    return (
        f'<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{body}'
        "</CORSConfiguration>"
    ).encode()


FULL = (
    "<ID>r1</ID><AllowedOrigin>https://a.example</AllowedOrigin>"
    "<AllowedOrigin>http://*.b.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>"
    "<AllowedMethod>GET</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader>"
    "<AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>"
    "<MaxAgeSeconds>300</MaxAgeSeconds>"
)


def test_parse_full_rule() -> None:
    (rule,) = parse_cors_xml(doc(FULL))
    assert rule == CorsRule(
        origins=("https://a.example", "http://*.b.example"),
        methods=("PUT", "GET"),
        headers=("Content-Type", "x-amz-*"),  # as given: GetBucketCors returns them so
        expose=("ETag",),
        max_age=300,
        id="r1",
    )


def test_storage_and_rendering_round_trip() -> None:
    rules = parse_cors_xml(
        doc(FULL, "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")
    )
    assert rules_from_json(rules_to_json(rules)) == rules
    assert parse_cors_xml(render_cors_xml(rules)) == rules


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<CORSConfiguration/>", "MalformedXML"),
        (b"<Other><CORSRule/></Other>", "MalformedXML"),
        (doc("<AllowedMethod>GET</AllowedMethod>"), "MalformedXML"),
        (doc("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML"),
        (doc("<AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), "MalformedXML"),
        (
            doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
            "InvalidRequest",
        ),
        (
            doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>"),
            "InvalidRequest",
        ),
        (
            doc("<AllowedOrigin>**</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
            "InvalidRequest",
        ),
        (
            doc(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                "<ExposeHeader>a b</ExposeHeader>"
            ),
            "InvalidRequest",
        ),
        (
            doc(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                "<MaxAgeSeconds>1.5</MaxAgeSeconds>"
            ),
            "MalformedXML",
        ),
        (
            doc(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                "<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>"
            ),
            "MalformedXML",
        ),
        (
            doc(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                f"<ID>{'i' * 256}</ID>"
            ),
            "InvalidRequest",
        ),
        (b'<!DOCTYPE x [<!ENTITY e "x">]><CORSConfiguration/>', "MalformedXML"),
    ],
)
def test_invalid_documents(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_cors_xml(body)
    assert caught.value.code == code


def test_rule_count_limit() -> None:
    rule = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
    assert len(parse_cors_xml(doc(*[rule] * 100))) == 100
    with pytest.raises(S3Error) as caught:
        parse_cors_xml(doc(*[rule] * 101))
    assert caught.value.code == "InvalidRequest"


RULES = (
    CorsRule(
        origins=("https://app.example",), methods=("PUT",), headers=("content-type", "x-amz-*")
    ),
    CorsRule(origins=("http://*.example.org",), methods=("GET",)),
    CorsRule(origins=("*",), methods=("GET", "HEAD"), headers=("*",), max_age=10),
)


@pytest.mark.parametrize(
    ("origin", "method", "headers", "index"),
    [
        ("https://app.example", "PUT", (), 0),
        ("https://app.example", "PUT", ("content-type", "x-amz-meta-a"), 0),
        ("https://app.example", "PUT", ("authorization",), None),
        ("https://app.example", "DELETE", (), None),
        ("http://a.example.org", "GET", (), 1),
        ("http://.example.org", "GET", (), 1),  # the wildcard may match nothing
        ("http://a.example.org", "GET", ("x-any",), 2),  # rule 1 has no AllowedHeader
        ("https://other.test", "GET", (), 2),
        ("https://other.test", "HEAD", (), 2),
        ("https://other.test", "PUT", (), None),
        ("https://APP.example", "PUT", (), None),  # origins compare exactly
    ],
)
def test_first_matching_rule(
    origin: str, method: str, headers: tuple[str, ...], index: int | None
) -> None:
    found = find_rule(RULES, origin, method, headers)
    assert found is (None if index is None else RULES[index])


def test_wildcard_does_not_overlap_head_and_tail() -> None:
    rule = CorsRule(origins=("ab*ba",), methods=("GET",))
    assert rule.allows_origin("abba")
    assert rule.allows_origin("ab-ba")
    assert not rule.allows_origin("aba")


def test_request_headers_are_normalised() -> None:
    assert request_headers(" Content-Type ,, X-Amz-Date,") == ("content-type", "x-amz-date")
    assert request_headers(None) == ()


def test_response_headers() -> None:
    exact = response_headers(RULES[0], "https://app.example", requested=("content-type",))
    assert exact == {
        "Vary": VARY,
        "Access-Control-Allow-Origin": "https://app.example",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "PUT",
        "Access-Control-Allow-Headers": "content-type",
    }
    star = response_headers(RULES[2], "https://x.test")
    assert star["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in star
    assert star["Access-Control-Max-Age"] == "10"
