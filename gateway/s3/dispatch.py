"""The S3 listener's single request handler: parse, resolve, authenticate, authorize,
run the operation's handler, render. Every error leaves as S3 XML."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from gateway.access_log import ACCESS_LOG
from gateway.audit import s3 as audit_s3
from gateway.config import Config
from gateway.identity.store import IdentityStore
from gateway.metrics import CLIENT_GONE, METRICS, response_bytes
from gateway.principal import ANONYMOUS, Principal
from gateway.ratelimit import http as limits
from gateway.s3.access import Access, authorize
from gateway.s3.addressing import split_target
from gateway.s3.admission import admit, refuse_over_limit
from gateway.s3.authn import authenticate_s3
from gateway.s3.context import Context, Result, read_xml
from gateway.s3.cors import (
    actual_response_headers,
    bucket_document,
    error_headers,
    preflight_headers,
    vary_without_origin,
)
from gateway.s3.cors_rules import VARY
from gateway.s3.errors import S3Error, as_s3_error
from gateway.s3.handlers import HANDLERS
from gateway.s3.hoisted import with_hoisted_headers
from gateway.s3.lock_conditions import BODY_LOCK_OPERATIONS, lock_body
from gateway.s3.post_object import read_post
from gateway.s3.render import render_error, render_result
from gateway.s3.request import S3Request, read_request
from gateway.s3.request_ids import new_request_id
from gateway.s3.tags import parse_tagging_document
from gateway.state import BACKEND, CONFIG, IDENTITY, INFLIGHT, TOKEN_VERIFIER
from gateway.tracebacks import drop_tracebacks
from gateway.transport import TLS_REQUIRED, refused
from sigv4 import SignedRequest, VerifiedRequest

__all__ = ["handle", "no_expect_handler"]

log = logging.getLogger("nfyio.s3")
PREFLIGHT = "PreflightObject"
"""The operation name of CORS preflights in metrics and the access log (AWS's "OPTIONS
object"; not a row of the operation table: nothing is authorised)."""


async def _continue(request: web.Request) -> None:
    """Answer ``Expect: 100-continue`` now that the caller is known and allowed."""
    if request.headers.get("Expect", "").lower() == "100-continue" and request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


async def no_expect_handler(request: web.Request) -> None:
    """Replaces aiohttp's default, which would answer 100 Continue before authentication."""


async def handle(request: web.Request) -> web.StreamResponse:
    # ``request.app`` is two properties and ``app[key]`` a method call: read once here
    # and handed down (eleven reads a request, about 2 % of a HEAD).
    app = request.app
    inflight = app[INFLIGHT]
    inflight.enter()
    try:
        if request.method == "OPTIONS":
            return await _preflight(request, app)
        return await _handle(request, app)
    finally:
        inflight.leave()


async def _preflight(request: web.Request, app: web.Application) -> web.StreamResponse:
    """A browser's CORS preflight: answered from the CORS rules alone, never
    authenticated or authorised (``gateway/s3/cors.py``). It is anonymous (a browser
    sends no credential with one), so it spends the client address's rate-limit bucket
    first, like any anonymous request, and is refused ``SlowDown`` when that is empty,
    before the bucket's CORS configuration is read or matched (docs/rate-limits.md)."""
    started = time.perf_counter()
    request_id = new_request_id()
    config = app[CONFIG]
    resource = unquote(split_target(request.raw_path)[0])
    try:
        refuse_over_limit(await limits.admit(request, ANONYMOUS))
        headers = await preflight_headers(request, config, app[IDENTITY])
        response = await render_result(request, Result(headers=headers), request_id)
    except Exception as exc:
        error = as_s3_error(exc)
        if error is None:
            log.exception("internal error answering a preflight (request %s)", request_id)
            error = S3Error("InternalError")
        drop_tracebacks(exc)  # answered and logged: no cycle keeps the request alive
        response = render_error(request, error, request_id, resource)
        response.headers["Vary"] = VARY
    _record(request, app, response, started, request_id, resource, PREFLIGHT, "-")
    return response


@functools.lru_cache(maxsize=8)
def _max_skew(seconds: int) -> timedelta:
    """``s3.max_clock_skew_seconds`` as a ``timedelta``, made once per value rather than
    for every request (0.4 us)."""
    return timedelta(seconds=seconds)


def _authenticate(
    request: web.Request,
    app: web.Application,
    identity: IdentityStore,
    req: S3Request,
    config: Config,
    now: datetime,
) -> Coroutine[Any, Any, tuple[Principal, VerifiedRequest | None]]:
    """``authenticate_s3``'s coroutine for ``req``, which the caller awaits (a function
    returning it rather than a coroutine awaiting it: one coroutine fewer a request)."""
    signed = SignedRequest(
        method=request.method,
        raw_path=req.address.raw_path,
        raw_query=req.address.raw_query,
        headers=req.header_pairs,
    )
    return authenticate_s3(
        signed,
        req.headers,
        identity,
        app[TOKEN_VERIFIER],
        now,
        max_skew=_max_skew(config.s3.max_clock_skew_seconds),
        bucket_path=req.address.bucket_path,
    )


def _presigned(req: S3Request, verified: VerifiedRequest | None) -> bool:
    """The request was authenticated by a presigned URL whose signature covers its query's
    ``x-amz-*`` parameters: SigV4 (the canonical query string) or SigV2 (the
    CanonicalizedAmzHeaders; ``authenticate_s3`` takes that path exactly when the query
    has both ``AWSAccessKeyId`` and ``Signature``, and it verified). An ``AWSAccessKeyId``
    alone signs nothing: such a request authenticated otherwise (Bearer, anonymous)."""
    if verified is not None:
        return "X-Amz-Signature" in req.query
    return "AWSAccessKeyId" in req.query and "Signature" in req.query


async def _handle(request: web.Request, app: web.Application) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = new_request_id()
    config = app[CONFIG]
    # read once: each app[key] is a method call (~0.1 us)
    identity = app[IDENTITY]
    backend = app[BACKEND]
    resource = "/"
    operation_name = "-"
    principal_name = "-"
    continued = False
    response: web.StreamResponse
    origin = request.headers.get("Origin")
    req: S3Request | None = None
    access: Access | None = None
    try:
        req = read_request(request, config)
        resource = unquote(req.address.raw_path)
        operation_name = req.operation.name
        if refused(config, request, req.headers, req.query):
            raise S3Error("AccessDenied", TLS_REQUIRED)
        now = datetime.now(UTC)
        verified: VerifiedRequest | None = None
        if req.operation.name == "PostObject":
            # A form authenticates by its fields, which are in the body (bounded; the
            # file is not read before the decision below).
            await _continue(request)
            continued = True
            req, principal = await read_post(request, req, identity, config, now)
        else:
            principal, verified = await _authenticate(request, app, identity, req, config, now)
            if _presigned(req, verified):
                req = with_hoisted_headers(req)  # its query is signed
        principal_name = principal.subject
        await admit(request, req, principal, request_id)
        if req.operation.name == "PutObjectTagging":
            # The tag set is the body: read (bounded, verified as any body) before the
            # decision, which feeds it to s3:RequestObjectTag/... as S3 does.
            await _continue(request)
            continued = True
            tag_set = parse_tagging_document(await read_xml(request, req, verified, config))
            req = replace(req, tags=tag_set)
        elif req.operation.name in BODY_LOCK_OPERATIONS:
            # Likewise the retention or legal hold asked for: s3:object-lock-*.
            await _continue(request)
            continued = True
            body = lock_body(req.operation.name, await read_xml(request, req, verified, config))
            req = replace(req, object_lock=body.lock, lock_body=body)
        access = await authorize(
            request,
            req,
            principal,
            identity,
            backend,
            config,
            now,
        )
        if principal.is_anonymous and access.bucket is not None and access.bucket.owner:
            audit_s3.owned_by(request, access.bucket.owner.account_id)
        if not req.operation.implemented:
            raise S3Error(
                "NotImplemented", f"{req.operation.name} is not implemented by this gateway"
            )
        if not continued:
            if "expect" in req.headers:  # what _continue reads; most requests send none
                await _continue(request)
            continued = True
        ctx = Context(
            request=request,
            request_id=request_id,
            req=req,
            principal=principal,
            verified=verified,
            backend=backend,
            config=config,
            now=now,
            bypass_governance=access.bypass_governance,
            access=access,
        )
        result: Result = await HANDLERS[req.operation.name](ctx)
        document = bucket_document(access.bucket)
        cors_headers = (
            vary_without_origin(document, config)
            if origin is None
            else actual_response_headers(document, config, origin, request.method)
        )
        response = await render_result(request, result, request_id, cors_headers)
    except ConnectionError:
        # The client went away (an upload cut short): aiohttp ends the connection. The
        # line and the count say 499, nginx's status for it, as the API listener's do.
        _record(request, app, None, started, request_id, resource, operation_name, principal_name)
        raise
    except web.HTTPException:
        raise
    except Exception as exc:
        if req is None:  # refused while parsed: the path as sent (decoded), not "/"
            resource = unquote(split_target(request.raw_path)[0])
        error = as_s3_error(exc)
        if error is None:
            log.exception(
                "internal error handling %s %s (request %s)", request.method, resource, request_id
            )
            error = S3Error("InternalError")
        # Answered (and logged when unexpected): its frames would hold this request's
        # objects in a reference cycle until the cyclic collector ran (gateway/tracebacks.py).
        drop_tracebacks(exc)
        response = render_error(request, error, request_id, resource)
        if req is not None and req.operation.name == "PostObject" and not request.content.is_eof():
            # The rest of the form is still coming (up to 5 GiB): never read it. A form that
            # arrived whole keeps the connection (aiohttp drops what was not read).
            response.force_close()
        if origin is not None:
            response.headers.update(
                await error_headers(
                    identity,
                    config,
                    bucket_name=None if req is None else req.address.bucket,
                    bucket=None if access is None else access.bucket,
                    origin=origin,
                    method=request.method,
                )
            )
        elif access is not None:  # e.g. a 404 or a 304: cacheable too
            vary = vary_without_origin(bucket_document(access.bucket), config)
            if vary is not None:
                response.headers.update(vary)
    if not continued and request.headers.get("Expect", "").lower() == "100-continue":
        # The client holds its body back until 100 Continue, which it will never get: the
        # connection is out of step, so end it after this answer instead of parsing the
        # next request out of a body that may or may not follow.
        response.force_close()
    _record(request, app, response, started, request_id, resource, operation_name, principal_name)
    return response


def _record(
    request: web.Request,
    app: web.Application,
    response: web.StreamResponse | None,
    started: float,
    request_id: str,
    resource: str,
    operation_name: str,
    principal_name: str,
) -> None:
    """Metrics and the access log line of one request (``response`` None: the client went
    away before its answer)."""
    elapsed = time.perf_counter() - started
    status = CLIENT_GONE if response is None else response.status
    metrics = app[METRICS]
    if metrics is not None:
        metrics.observe_s3(
            operation_name,
            status,
            elapsed,
            request.content.total_bytes,
            0 if response is None else response_bytes(request, response),
        )
    access_log = app[ACCESS_LOG]
    if access_log is not None:
        access_log.line(
            f"request_id={request_id} remote={request.remote} method={request.method} "
            f"path={quote(resource, safe='/')} op={operation_name} principal={principal_name} "
            f"status={status} ms={elapsed * 1000:.1f}"
        )
