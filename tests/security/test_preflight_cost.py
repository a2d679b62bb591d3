"""Class: an anonymous request's work is bounded, whatever the stored rules it is
checked against.

A CORS preflight is answered to anyone. Its requested header names were each compared
with every ``AllowedHeader`` pattern of the rules tried: a 64 KB configuration of about
1,800 wildcard patterns (its owner's to put) against 1,400 requested names held a worker
for 0.4 s per preflight, at 100 preflights a second per client address. A preflight may
now ask for at most 128 distinct names (no request could carry more header fields) and
cost at most 16,384 wildcard comparisons; past either it is refused as a preflight no
rule allows. Names allowed by an exact pattern or by ``*`` cost nothing.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request

APP = "https://app.example.com"


def _preflight(gw: Gateway, bucket: str, names: list[str]) -> int:
    headers = {
        "Origin": APP,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": ",".join(names),
    }
    return raw_request(gw, "OPTIONS", f"/{bucket}/k", headers=headers).status


def _rules(patterns: list[str]) -> dict[str, Any]:
    rule = {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "AllowedHeaders": patterns}
    return {"CORSRules": [rule]}


def test_a_preflight_costs_a_bounded_number_of_comparisons(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    # the last pattern allows the names asked for, after 1,700 that allow none of them:
    # each name costs 1,701 comparisons
    s3.put_bucket_cors(
        Bucket=bucket, CORSConfiguration=_rules([f"x{i}-*" for i in range(1700)] + ["h*"])
    )
    assert _preflight(gateway, bucket, [f"h{i}" for i in range(9)]) == 200
    assert _preflight(gateway, bucket, [f"h{i}" for i in range(10)]) == 403


def test_names_allowed_exactly_cost_nothing(gateway: Gateway, s3: Any, bucket: str) -> None:
    exact = [f"x-app-{i}" for i in range(1500)]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=_rules(["x-amz-*", *exact]))
    assert _preflight(gateway, bucket, exact[:128]) == 200
    assert _preflight(gateway, bucket, [*exact[:127], "x-amz-date"]) == 200
    # more names than any request could carry
    assert _preflight(gateway, bucket, exact[:129]) == 403
    # repeated names are one name
    assert _preflight(gateway, bucket, exact[:128] * 2) == 200


def test_a_rule_that_spends_the_budget_refuses_even_before_a_later_star_rule(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """Conservative by design (docs/cors.md): rules are tried in order, and a rule whose
    header check would cost more than the budget ends the search with a refusal, even
    where a later rule allows every header (``*``): skipping the costly rule could pick
    another rule than S3 would, with other answer headers."""
    costly = {
        "AllowedOrigins": [APP],
        "AllowedMethods": ["GET"],
        "AllowedHeaders": [f"x{i}-*" for i in range(1700)],
    }
    star = {
        "AllowedOrigins": [APP],
        "AllowedMethods": ["GET"],
        "AllowedHeaders": ["*"],
    }
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [costly, star]})
    # 9 names: 15,300 comparisons in the first rule, then the star rule answers
    assert _preflight(gateway, bucket, [f"h{i}" for i in range(9)]) == 200
    # 10 names: 17,000 > 16,384 in the first rule: refused, the star rule not reached
    assert _preflight(gateway, bucket, [f"h{i}" for i in range(10)]) == 403
    # without the costly rule the same preflight is allowed
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [star]})
    assert _preflight(gateway, bucket, [f"h{i}" for i in range(10)]) == 200
