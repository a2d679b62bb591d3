"""Redirects from the upstream store end: one call is at most two upstream requests
(three for a HeadBucket on the lean client), whatever the store answers.

The store is a small aiohttp app that signs nothing and checks nothing: it answers each
request by the region the request was signed for (the ``Credential`` scope). Before
``backends/s3/redirects.py``, a 301 without ``x-amz-bucket-region`` made botocore's
region redirector ask HeadBucket for the region, which was redirected too, and so on
until Python's recursion limit: about a hundred requests for one call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from backends import BackendError
from backends.s3 import S3Backend, UpstreamConfig
from backends.s3.log_gate import LogGate
from backends.s3.upstream_errors import UNAVAILABLE_RETRY_AFTER

OTHER = "eu-west-3"
"""The region the store names; the gateway signs for us-east-1."""
ETAG = '"5d41402abc4b2a76b9719d911017c592"'
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request")

Script = Callable[[web.Request, str], web.Response]
"""The store's answer to a request signed for the region given."""


@dataclass
class Store:
    """What the store was asked: (method, path and query, region signed for)."""

    url: str = ""
    requests: list[tuple[str, str, str]] = field(default_factory=list)


@asynccontextmanager
async def store(script: Script) -> AsyncIterator[Store]:
    seen = Store()

    async def handle(request: web.Request) -> web.Response:
        scope = _SCOPE.search(request.headers.get("Authorization", ""))
        region = scope.group(1) if scope else ""
        seen.requests.append((request.method, request.path_qs, region))
        await request.read()
        return script(request, region)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    seen.url = f"http://127.0.0.1:{port}"
    try:
        yield seen
    finally:
        await runner.cleanup()


def _config(url: str, *, lean: bool) -> UpstreamConfig:
    return UpstreamConfig(
        endpoint_url=url,
        access_key_id="AKIDGATEWAY",
        secret_access_key="gateway-secret",
        region="us-east-1",
        bucket_prefix="gw-",
        connect_timeout=1.0,
        read_timeout=5.0,
        fast_path=lean,
    )


Call = Callable[[S3Backend], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "HeadBucket": lambda backend: backend.head_bucket("b"),
    "HeadObject": lambda backend: backend.head_object("b", "k"),
    "GetObject": lambda backend: backend.get_object("b", "k"),
    "ListObjectsV2": lambda backend: backend.list_objects("b"),
    "GetObjectTagging": lambda backend: backend.get_object_tagging("b", "k"),
}
UPSTREAM_CALLS = {name: (name,) for name in CALLS} | {
    # a 503 is followed by a HeadObject (moto's 500 for a delete marker: tagging.py)
    "GetObjectTagging": ("GetObjectTagging", "HeadObject"),
}
"""The upstream calls a backend call makes when the store redirects them all."""


async def _outcome(url: str, call: Call, *, lean: bool) -> Any:
    backend = S3Backend(_config(url, lean=lean))
    await backend.start()
    try:
        return await call(backend)
    except BackendError as exc:
        return exc
    finally:
        await backend.close()


def _redirect(status: int, headers: dict[str, str], code: str = "PermanentRedirect") -> Script:
    """Every request answered ``status`` with ``headers``; S3's error document (naming
    no region) where the method has a body."""

    def answer(request: web.Request, _: str) -> web.Response:
        body = f"<Error><Code>{code}</Code><Message>moved</Message></Error>"
        return web.Response(
            status=status,
            headers={"x-amz-request-id": "R", "Content-Type": "application/xml", **headers},
            text=None if request.method == "HEAD" else body,
        )

    return answer


def _malformed_again(request: web.Request, _: str) -> web.Response:
    """Signed for the wrong region whatever the region: a HEAD's bodiless 400 naming
    ``OTHER``, else ``AuthorizationHeaderMalformed`` naming it in the document."""
    headers = {"x-amz-request-id": "R", "x-amz-bucket-region": OTHER}
    if request.method == "HEAD":
        return web.Response(status=400, headers=headers)
    body = (
        "<Error><Code>AuthorizationHeaderMalformed</Code><Message>wrong region</Message>"
        f"<Region>{OTHER}</Region></Error>"
    )
    return web.Response(status=400, headers=headers, text=body, content_type="application/xml")


LOOPS: dict[str, Script] = {
    # no region named: botocore asked HeadBucket, which was redirected too, and again
    "301": _redirect(301, {}),
    "302": _redirect(302, {}),
    "307 to https": _redirect(307, {"Location": "https://store.example/gw-b"}, "Redirect"),
    # another region named, and redirected again from there
    "301 to a region": _redirect(301, {"x-amz-bucket-region": OTHER}),
    "307 to a region": _redirect(307, {"x-amz-bucket-region": OTHER}, "TemporaryRedirect"),
    # the region signed for, or no region name at all: nothing to send again for
    "301 to the same region": _redirect(301, {"x-amz-bucket-region": "us-east-1"}),
    "301 to a non-region": _redirect(301, {"x-amz-bucket-region": "store.example/x"}),
    "400 naming a region": _malformed_again,
}


def _requests(operation: str, loop: str, *, lean: bool) -> int:
    """Upstream requests of one upstream call: one, and one more signed for a region
    the store named; a HeadBucket on the lean client is handed to aiobotocore then (one
    more)."""
    named = loop in ("301 to a region", "307 to a region", "400 naming a region")
    if lean and operation in ("HeadObject", "GetObject", "ListObjectsV2"):
        return 1  # the lean client follows nothing
    if lean and operation == "HeadBucket" and named:
        return 3
    return 2 if named else 1


def _bound(name: str, loop: str, *, lean: bool) -> int:
    return sum(_requests(operation, loop, lean=lean) for operation in UPSTREAM_CALLS[name])


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "aiobotocore"])
@pytest.mark.parametrize("loop", list(LOOPS))
async def test_a_redirect_loop_ends_after_a_bounded_number_of_requests(
    loop: str, lean: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with store(LOOPS[loop]) as upstream:
        for name, call in CALLS.items():
            before = len(upstream.requests)
            outcome = await _outcome(upstream.url, call, lean=lean)
            sent = len(upstream.requests) - before
            # fewer where botocore remembered the region named by an earlier call
            assert 1 <= sent <= _bound(name, loop, lean=lean), (name, upstream.requests[before:])
            assert isinstance(outcome, BackendError), name
            if loop.startswith("400"):
                # the store refusing the region signed for: the gateway's configuration
                assert outcome.code in ("InvalidRequest", "InternalError"), name
            else:
                assert (outcome.code, outcome.extra) == (
                    "ServiceUnavailable",
                    {"RetryAfter": str(UNAVAILABLE_RETRY_AFTER)},
                ), name
                assert outcome.message == "the upstream store answered with a redirect"
    # the store answered: no outage of it in the log
    assert not [r for r in caplog.records if r.name == "nfyio.upstream"]


async def test_a_redirect_is_logged_once_a_minute_per_operation_and_status(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backends.s3 import redirects  # here: the other tests also ran on the former code

    monkeypatch.setattr(redirects, "_lines", LogGate(redirects.REDIRECT_EVERY))
    caplog.set_level(logging.WARNING, logger=redirects.log.name)
    async with store(LOOPS["307 to https"]) as upstream:
        for _ in range(3):
            for lean in (True, False):
                await _outcome(upstream.url, CALLS["HeadObject"], lean=lean)
    lines = [r.getMessage() for r in caplog.records if r.name == redirects.log.name]
    assert len(lines) == 1
    assert lines[0].startswith("upstream HeadObject answered 307, a redirect")
    assert "https://store.example/gw-b" in lines[0]


def _lives_elsewhere(request: web.Request, region: str) -> web.Response:
    """A bucket in ``OTHER``: requests signed for it answered, others redirected there."""
    headers = {"x-amz-request-id": "R", "x-amz-bucket-region": OTHER}
    if region != OTHER:
        return web.Response(status=301, headers=headers)
    if request.path == "/gw-b":  # HeadBucket
        return web.Response(status=200, headers=headers)
    if "tagging" in request.query:
        body = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
        return web.Response(text=body, headers=headers, content_type="application/xml")
    headers.update(
        {"ETag": ETAG, "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT", "Content-Length": "5"}
    )
    return web.Response(status=200, headers=headers)  # HeadObject


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "aiobotocore"])
async def test_a_bucket_in_the_region_the_store_names_is_reached(lean: bool) -> None:
    """A genuine region redirect (AWS's 301 names the bucket's region) is followed once,
    signed for that region, as botocore always did."""
    async with store(_lives_elsewhere) as upstream:
        bucket = await _outcome(upstream.url, CALLS["HeadBucket"], lean=lean)
        assert (bucket.name, bucket.region) == ("b", OTHER)
        regions = [region for _, _, region in upstream.requests]
        assert regions == (["us-east-1"] if lean else []) + ["us-east-1", OTHER]
        tagging = await _outcome(upstream.url, CALLS["GetObjectTagging"], lean=lean)
        assert tagging.tags == (("a", "1"),)
        if not lean:  # the lean client sends a HeadObject for the configured region only
            info = await _outcome(upstream.url, CALLS["HeadObject"], lean=lean)
            assert (info.etag, info.size) == (ETAG.strip('"'), 5)
