"""The CORS headers of actual requests: built from the rules once per (rules, origin,
method), checked as every response header is, and shared read-only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.config import Config, CorsConfig
from gateway.s3.cors import actual_headers, actual_response_headers, default_rules
from gateway.s3.cors_rules import VARY, parse_cors_xml, rules_from_json, rules_to_json
from gateway.s3.headers import checked_headers

APP = "https://app.example.com"
DOCUMENT = rules_to_json(
    parse_cors_xml(
        b"<CORSConfiguration><CORSRule><AllowedOrigin>https://admin.example.com</AllowedOrigin>"
        b"<AllowedMethod>PUT</AllowedMethod></CORSRule>"
        b"<CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>"
        b"<AllowedOrigin>https://*.example.org</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
        b"<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule>"
        b"</CORSConfiguration>"
    )
)


@pytest.mark.parametrize(
    ("origin", "method"),
    [(APP, "GET"), (APP, "PUT"), ("https://admin.example.com", "PUT"), (APP, "DELETE")],
)
def test_the_memo_answers_what_the_rules_say(origin: str, method: str) -> None:
    expected = checked_headers(actual_headers(rules_from_json(DOCUMENT), origin, method))
    assert dict(actual_response_headers(DOCUMENT, Config(), origin, method)) == expected
    # asked again: the same answer
    assert dict(actual_response_headers(DOCUMENT, Config(), origin, method)) == expected


def test_a_match_and_a_miss() -> None:
    matched = actual_response_headers(DOCUMENT, Config(), APP, "GET")
    assert matched["Access-Control-Allow-Origin"] == APP
    assert matched["Access-Control-Expose-Headers"] == "ETag"
    assert matched["Vary"] == VARY
    assert dict(actual_response_headers(DOCUMENT, Config(), APP, "DELETE")) == {"Vary": VARY}


def test_the_shared_answer_is_read_only() -> None:
    matched = actual_response_headers(DOCUMENT, Config(), APP, "GET")
    with pytest.raises(TypeError):
        matched["Access-Control-Allow-Origin"] = "https://evil.example"  # type: ignore[index]
    assert (
        actual_response_headers(DOCUMENT, Config(), APP, "GET")["Access-Control-Allow-Origin"]
        == APP
    )


def test_an_unsendable_origin_is_never_echoed() -> None:
    """A wildcard rule matches the origin and echoes it: a control character keeps it out."""
    assert (
        actual_response_headers(DOCUMENT, Config(), "https://a.example.org", "GET")[
            "Access-Control-Allow-Origin"
        ]
        == "https://a.example.org"
    )
    for origin in ("https://a\x01.example.org", "https://a\r\nSet-Cookie: x=1.example.org"):
        found = actual_response_headers(DOCUMENT, Config(), origin, "GET")
        assert "Access-Control-Allow-Origin" not in found
        assert found["Vary"] == VARY


def test_without_rules_nothing_is_added() -> None:
    assert dict(actual_response_headers(None, Config(), APP, "GET")) == {}


def test_the_gateway_wide_default_applies_without_a_document() -> None:
    config = replace(Config(), cors=CorsConfig(default_origins=(APP,)))
    expected = checked_headers(actual_headers(default_rules(config.cors), APP, "GET"))
    assert dict(actual_response_headers(None, config, APP, "GET")) == expected
    assert expected["Access-Control-Allow-Origin"] == APP
    other = replace(Config(), cors=CorsConfig(default_origins=("https://other.example",)))
    assert "Access-Control-Allow-Origin" not in actual_response_headers(None, other, APP, "GET")
