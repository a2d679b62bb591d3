"""Regression class: ``X-Forwarded-For`` read from its first header line only.

Behind a trusted proxy the client's address is the last hop of ``X-Forwarded-For``. nginx
extends the client's line; HAProxy's ``option forwardfor`` (docs/deploy.md) appends a line
of its own, so a client that sends its own ``X-Forwarded-For`` line comes first. The
gateway read the first line: the client chose its ``aws:SourceIp`` (a bucket policy pinned
to an office network let anyone in) and its address for the rate limiter and throttles.
Every reader of the header now takes the last hop over all lines, in order.

The same class, the hop read with the port a proxy added: some proxies write the client's
address with its source port (Azure Application Gateway and IIS ARR:
``203.0.113.7:51234``, ``[2001:db8::7]:51234``). The gateway took the whole hop as the
address: each new connection of one client was a new client to the anonymous rate limit
(and the password throttles), an IPv6 client escaped its /64 bucket, and
``aws:SourceIp`` matched no network, so a bucket policy pinned to an office let nobody
in. The hop's address is now read without the port.
"""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.tenants import new_tenant, public_read

OFFICE = "203.0.113.0/24"
BURST = 4


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-forwarded",
        extra_env={
            "NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true",
            "NFYIO_RATELIMIT_ANONYMOUS_REQUESTS_PER_MINUTE": "1",
            "NFYIO_RATELIMIT_ANONYMOUS_BURST": str(BURST),
        },
    )


def _get(port: int, target: str, forwarded: list[str]) -> int:
    """A GET with one ``X-Forwarded-For`` header line per entry of ``forwarded``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{port}")
        for line in forwarded:
            connection.putheader("X-Forwarded-For", line)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _office_object(proxied: Gateway, *networks: str) -> str:
    """The path of an object anyone may read from ``networks`` (``aws:SourceIp``)."""
    s3 = new_tenant(proxied, "office").client()
    bucket = f"fwd-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"office only")
    condition = {"IpAddress": {"aws:SourceIp": list(networks)}}
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket, condition))
    return f"/{bucket}/k"


def test_source_ip_is_the_hop_the_proxy_appended_as_its_own_line(proxied: Gateway) -> None:
    target = _office_object(proxied, OFFICE)
    # The client's own line first, the proxy's (the address it saw) last.
    assert _get(proxied.s3_port, target, ["203.0.113.9", "198.51.100.7"]) == 403
    assert _get(proxied.s3_port, target, ["203.0.113.9, 198.51.100.7"]) == 403
    assert _get(proxied.s3_port, target, ["198.51.100.7", "10.0.0.1, 203.0.113.9"]) == 200


def test_the_rate_limiter_counts_the_hop_the_proxy_appended(proxied: Gateway) -> None:
    statuses = [
        _get(proxied.api_port, "/v1/openapi.json", [f"198.51.100.{i}", "192.0.2.60"])
        for i in range(BURST + 3)
    ]
    assert statuses.count(200) == BURST
    assert statuses[-3:] == [429] * 3
    assert _get(proxied.api_port, "/v1/openapi.json", ["192.0.2.60", "192.0.2.61"]) == 200


@pytest.mark.parametrize(
    "hop",
    ["198.51.100.99:{port}", "[2001:db8:1:2::{port:x}]:{port}"],
    ids=["ipv4", "ipv6-network"],
)
def test_one_client_on_many_ports_is_one_client_to_the_rate_limit(
    proxied: Gateway, hop: str
) -> None:
    statuses = [
        _get(proxied.api_port, "/v1/openapi.json", [hop.format(port=40000 + i)])
        for i in range(BURST + 3)
    ]
    assert statuses.count(200) == BURST
    assert statuses[-3:] == [429] * 3


def test_source_ip_matches_a_hop_written_with_its_port(proxied: Gateway) -> None:
    target = _office_object(proxied, OFFICE, "2001:db8:5::/48")
    assert _get(proxied.s3_port, target, ["203.0.113.9:51234"]) == 200
    assert _get(proxied.s3_port, target, ["[2001:db8:5::9]:51234"]) == 200
    # outside the office, and not an address whose anonymous bucket another test spends
    assert _get(proxied.s3_port, target, ["192.0.2.77:51234"]) == 403
