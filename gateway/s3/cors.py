"""CORS on the S3 listener (docs/cors.md): the bucket's ``cors`` subresource
(Put/Get/DeleteBucketCors), preflight ``OPTIONS`` requests, and the headers actual
requests with an ``Origin`` get.

The configuration is a bucket-settings document of the state store (kind ``cors``, the
rules as JSON), so it holds with either storage backend and every gateway sees a change
at its next request. A bucket without one falls back to the gateway-wide default rule
(``[cors] default_*``), off unless configured.

**Preflights never authorise anything.** ``OPTIONS`` is answered from the CORS rules
alone: no credential is read, no access decision is made, the storage backend is not
asked (a bucket that does not exist has no configuration and is refused like one
without), and nothing but the CORS headers is sent back.

**Cost.** A request without ``Origin`` pays one header lookup in the dispatcher and one
dictionary lookup in the bucket settings the access decision read (``Vary`` is added when
the bucket has rules: :func:`vary_without_origin`). With
``Origin``, the rules come from the bucket settings the access decision read anyway (one
dictionary lookup), and the answer for that document, origin and method is built and
checked once and then reused (``actual_response_headers``); only a request refused before
that read (a bad signature, say) costs one indexed query for its error's headers. A
preflight costs that one query.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from aiohttp import web

from gateway.config import Config, CorsConfig
from gateway.identity.store import IdentityStore
from gateway.peer import forwarded_host
from gateway.s3.addressing import parse_address, valid_bucket_name
from gateway.s3.bucket_facts import BucketFacts
from gateway.s3.context import Context, Result
from gateway.s3.cors_rules import (
    LARGE_DOCUMENT_CHARS,
    MAX_CONFIGURATION_BYTES,
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
from gateway.s3.headers import checked_headers
from gateway.s3.ownership import existing_bucket

__all__ = [
    "CORS",
    "actual_headers",
    "actual_response_headers",
    "delete_bucket_cors",
    "error_headers",
    "get_bucket_cors",
    "preflight_headers",
    "put_bucket_cors",
    "rules_for",
    "vary_without_origin",
]

CORS = "cors"
"""The bucket-settings kind this feature owns (gateway/identity/bucket_settings.py)."""

NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
"""AWS's messages, its typo included: clients and tests compare them."""


@functools.lru_cache(maxsize=8)
def default_rules(cors: CorsConfig) -> tuple[CorsRule, ...]:
    """The gateway-wide rule (none unless ``cors.default_origins`` is set)."""
    if not cors.default_origins:
        return ()
    return (
        CorsRule(
            origins=cors.default_origins,
            methods=cors.default_methods,
            headers=cors.default_headers,
            expose=cors.default_expose_headers,
            max_age=cors.default_max_age,
            id="gateway-default",
        ),
    )


def rules_for(document: str | None, config: Config) -> tuple[CorsRule, ...]:
    """A bucket's own rules, else the gateway-wide default (possibly none)."""
    if document is not None:
        return rules_from_json(document)
    return default_rules(config.cors)


# --- actual requests --------------------------------------------------------------------


def actual_headers(rules: tuple[CorsRule, ...], origin: str, method: str) -> dict[str, str]:
    """The CORS headers of a response to a request carrying ``Origin`` (the renderer
    checks them like every header). ``Vary`` is sent whenever rules exist, matched or
    not, so a cache never serves one origin's answer to another."""
    if not rules:
        return {}
    rule = find_rule(rules, origin, method)
    if rule is None:
        return {"Vary": VARY}
    return response_headers(rule, origin)


ACTUAL_MEMO = 1024
"""Answers kept per worker for each source of rules (a bucket's document, the
gateway-wide default): one per distinct (document, origin, method), least recently used
dropped first. The origin is the client's to choose, so the bound is what stops it from
growing; an entry is a few hundred bytes and a reference to a document the bucket
settings hold anyway."""

_NONE: Mapping[str, str] = MappingProxyType({})


def actual_response_headers(
    document: str | None, config: Config, origin: str, method: str
) -> Mapping[str, str]:
    """:func:`actual_headers` for the rules of ``document`` (or the gateway-wide default),
    already checked as the renderer checks every header, read-only and shared: the same
    request from the same page gets the same answer, so it is built once. Without rules
    of either kind nothing is looked up."""
    if document is not None:
        if len(document) > LARGE_DOCUMENT_CHARS:
            return _for_large_document(document, origin, method)
        return _for_document(document, origin, method)
    if not config.cors.default_origins:
        return _NONE
    return _for_default(config.cors, origin, method)


@functools.lru_cache(maxsize=ACTUAL_MEMO)
def _for_document(document: str, origin: str, method: str) -> Mapping[str, str]:
    return MappingProxyType(
        checked_headers(actual_headers(rules_from_json(document), origin, method))
    )


@functools.lru_cache(maxsize=64)
def _for_large_document(document: str, origin: str, method: str) -> Mapping[str, str]:
    """As ``_for_document`` for documents above ``LARGE_DOCUMENT_CHARS``: each entry keeps
    its document alive, so fewer of them (4 MiB of text at most)."""
    return MappingProxyType(
        checked_headers(actual_headers(rules_from_json(document), origin, method))
    )


@functools.lru_cache(maxsize=ACTUAL_MEMO)
def _for_default(cors: CorsConfig, origin: str, method: str) -> Mapping[str, str]:
    return MappingProxyType(checked_headers(actual_headers(default_rules(cors), origin, method)))


def bucket_document(bucket: BucketFacts | None) -> str | None:
    return None if bucket is None else bucket.settings.get(CORS)


_VARY_ONLY: Mapping[str, str] = MappingProxyType({"Vary": VARY})


def vary_without_origin(document: str | None, config: Config) -> Mapping[str, str] | None:
    """The CORS header of a response to a request **without** ``Origin``: ``Vary`` when
    rules (the bucket's, else the gateway-wide default) would have answered an
    ``Origin``; None otherwise. A cache (a browser's, a CDN's) then never hands this
    answer, which has no ``Access-Control-Allow-Origin``, to a page's cross-origin
    request for the same URL: an ``<img>`` loaded first would otherwise break the page's
    ``fetch`` of it until the cached copy expires (S3 sends no ``Vary`` here and has
    that bug)."""
    if document is None and not config.cors.default_origins:
        return None
    return _VARY_ONLY


async def error_headers(
    store: IdentityStore,
    config: Config,
    *,
    bucket_name: str | None,
    bucket: BucketFacts | None,
    origin: str,
    method: str,
) -> Mapping[str, str]:
    """The CORS headers of an error response (a 403 or 404 must be readable by the page
    too). ``bucket`` is what the access decision loaded, when it got that far; otherwise
    the configuration is read here (one indexed query)."""
    if bucket is not None:
        document = bucket_document(bucket)
    elif bucket_name is not None and valid_bucket_name(bucket_name):
        document = await store.bucket_settings.get(bucket_name, CORS)
    else:
        document = None
    return actual_response_headers(document, config, origin, method)


# --- preflight --------------------------------------------------------------------------


async def preflight_headers(
    request: web.Request, config: Config, store: IdentityStore
) -> dict[str, str]:
    """The answer to a preflight ``OPTIONS`` (200 with these headers), or ``S3Error``:
    400 ``BadRequest`` without ``Origin`` or ``Access-Control-Request-Method``, 403
    ``AccessForbidden`` when no configuration exists or no rule matches."""
    headers = request.headers
    origin = headers.get("Origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = headers.get("Access-Control-Request-Method")
    if not method:
        raise S3Error("BadRequest", "Invalid Access-Control-Request-Method: null")
    forwarded = forwarded_host(request, trusted=config.server.trusted_forwarded_headers)
    address = parse_address(
        request.message.path, forwarded or headers.get("Host"), config.s3.domain
    )
    extra = {"Method": method, "ResourceType": address.target.value.upper()}
    document = None
    if address.bucket is not None and valid_bucket_name(address.bucket):
        document = await store.bucket_settings.get(address.bucket, CORS)
    rules = rules_for(document, config)
    if not rules:
        raise S3Error("AccessForbidden", NOT_ENABLED, extra=extra)
    requested = request_headers(headers.get("Access-Control-Request-Headers"))
    rule = find_rule(rules, origin, method, requested)
    if rule is None:
        raise S3Error("AccessForbidden", NOT_ALLOWED, extra=extra)
    return response_headers(rule, origin, requested=requested)


# --- the cors subresource ---------------------------------------------------------------


async def _bucket(ctx: Context) -> BucketFacts:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    return bucket


async def put_bucket_cors(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    rules = parse_cors_xml(await ctx.xml_body(limit=MAX_CONFIGURATION_BYTES))
    await ctx.access.store.bucket_settings.put(
        bucket.name, CORS, rules_to_json(rules), owner=bucket.owner_id
    )
    return Result()


async def get_bucket_cors(ctx: Context) -> Result:
    """The bucket's own configuration; the gateway-wide default is not reported (it is
    the gateway's, not the bucket's)."""
    bucket = await _bucket(ctx)
    document = bucket_document(bucket)
    if document is None:
        raise S3Error("NoSuchCORSConfiguration", extra={"BucketName": bucket.name})
    return Result(xml=render_cors_xml(rules_from_json(document)))


async def delete_bucket_cors(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    await ctx.access.store.bucket_settings.delete(bucket.name, CORS, owner=bucket.owner_id)
    return Result(status=204)
