"""The S3 listener's single request handler: parse, resolve, authenticate, authorize,
run the operation's handler, render. Every error leaves as S3 XML."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web

from backends.errors import BackendError
from gateway.auth.principal import Principal
from gateway.metrics import METRICS, response_bytes
from gateway.s3.addressing import (
    Address,
    check_bucket_name,
    check_key,
    parse_address,
)
from gateway.s3.authn import authenticate
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.handlers import HANDLERS
from gateway.s3.operations import Operation, resolve
from gateway.s3.render import render_error, render_result
from gateway.state import BACKEND, CONFIG, IDENTITY, INFLIGHT, TOKEN_VERIFIER
from sigv4 import SignedRequest, SigV4Error

log = logging.getLogger("nfyio.s3")
access_log = logging.getLogger("nfyio.access")


def new_request_id() -> str:
    return os.urandom(8).hex().upper()


def _host(request: web.Request, *, trust_forwarded: bool) -> str | None:
    if trust_forwarded and "X-Forwarded-Host" in request.headers:
        return request.headers["X-Forwarded-Host"]
    return request.headers.get("Host")


def _as_signed_by_client(
    pairs: tuple[tuple[str, str], ...], forwarded_host: str
) -> tuple[tuple[str, str], ...]:
    """Headers as the client sent them to the proxy: its Host is in X-Forwarded-Host."""
    return tuple(
        (name, forwarded_host if name.lower() == "host" else value) for name, value in pairs
    )


def _authorize(
    principal: Principal, operation: Operation, address: Address, headers: dict[str, str]
) -> None:
    if principal.kind == "anonymous":
        raise S3Error("AccessDenied", "Anonymous access is not allowed; sign the request")
    for scope in operation.scopes:
        if not principal.has_scope(scope):
            raise S3Error("AccessDenied", f"Access Denied: this operation needs scope {scope}")
    buckets = [address.bucket] if address.bucket is not None else []
    source = headers.get("x-amz-copy-source") if operation.header == "x-amz-copy-source" else None
    if source:
        buckets.append(unquote(source).lstrip("/").split("/", 1)[0])
    for bucket in buckets:
        if not principal.allows_bucket(bucket):
            raise S3Error("AccessDenied", f"Access Denied: this key may not use bucket {bucket}")


async def _continue(request: web.Request) -> None:
    """Answer ``Expect: 100-continue`` now that the caller is known and allowed."""
    if request.headers.get("Expect", "").lower() == "100-continue" and request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


async def no_expect_handler(request: web.Request) -> None:
    """Replaces aiohttp's default, which would answer 100 Continue before authentication."""


async def handle(request: web.Request) -> web.StreamResponse:
    inflight = request.app[INFLIGHT]
    inflight.enter()
    try:
        return await _handle(request)
    finally:
        inflight.leave()


async def _handle(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = new_request_id()
    config = request.app[CONFIG]
    resource = "/"
    operation_name = "-"
    principal_name = "-"
    continued = False
    response: web.StreamResponse
    try:
        address = parse_address(
            request.message.path,
            _host(request, trust_forwarded=config.server.trusted_forwarded_headers),
            config.s3.domain,
        )
        resource = unquote(address.raw_path)
        query = dict(parse_qsl(address.raw_query, keep_blank_values=True))
        header_pairs = tuple(request.headers.items())
        if config.server.trusted_forwarded_headers and "X-Forwarded-Host" in request.headers:
            header_pairs = _as_signed_by_client(header_pairs, request.headers["X-Forwarded-Host"])
        headers = {k.lower(): v for k, v in reversed(header_pairs)}
        operation = resolve(request.method, address.target, query, headers)
        if operation is None:
            raise S3Error(
                "MethodNotAllowed",
                extra={"Method": request.method, "ResourceType": address.target.value.upper()},
            )
        operation_name = operation.name
        if address.bucket is not None and operation.name != "CreateBucket":
            check_bucket_name(address.bucket)
        if address.key is not None:
            check_key(address.key)
        now = datetime.now(UTC)
        signed = SignedRequest(
            method=request.method,
            raw_path=address.raw_path,
            raw_query=address.raw_query,
            headers=header_pairs,
        )
        principal, verified = await authenticate(
            signed,
            headers,
            request.app[IDENTITY],
            request.app[TOKEN_VERIFIER],
            now,
            max_skew=timedelta(seconds=config.s3.max_clock_skew_seconds),
            bucket_path=address.bucket_path,
        )
        principal_name = principal.subject
        _authorize(principal, operation, address, headers)
        if not operation.implemented:
            raise S3Error("NotImplemented", f"{operation.name} is not implemented by this gateway")
        await _continue(request)
        continued = True
        ctx = Context(
            request=request,
            request_id=request_id,
            address=address,
            operation=operation,
            principal=principal,
            query=query,
            headers=headers,
            header_pairs=header_pairs,
            verified=verified,
            backend=request.app[BACKEND],
            config=config,
            now=now,
        )
        result: Result = await HANDLERS[operation.name](ctx)
        response = await render_result(request, result, request_id)
    except S3Error as exc:
        response = render_error(request, exc, request_id, resource)
    except BackendError as exc:
        response = render_error(
            request, S3Error(exc.code, exc.message or None, extra=exc.extra), request_id, resource
        )
    except SigV4Error as exc:
        response = render_error(
            request,
            S3Error(exc.code, exc.message or None, extra=exc.extra, status=exc.status),
            request_id,
            resource,
        )
    except (ConnectionResetError, web.HTTPException):
        raise
    except Exception:
        log.exception(
            "internal error handling %s %s (request %s)", request.method, resource, request_id
        )
        response = render_error(request, S3Error("InternalError"), request_id, resource)
    if not continued and request.headers.get("Expect", "").lower() == "100-continue":
        # The client holds its body back until 100 Continue, which it will never get: the
        # connection is out of step, so end it after this answer instead of parsing the
        # next request out of a body that may or may not follow.
        response.force_close()
    elapsed = time.perf_counter() - started
    metrics = request.app[METRICS]
    if metrics is not None:
        metrics.observe_s3(
            operation_name,
            response.status,
            elapsed,
            request.content.total_bytes,
            response_bytes(request, response),
        )
    if config.server.access_log:
        access_log.info(
            "request_id=%s remote=%s method=%s path=%s op=%s principal=%s status=%d ms=%.1f",
            request_id,
            request.remote,
            request.method,
            quote(resource, safe="/"),
            operation_name,
            principal_name,
            response.status,
            elapsed * 1000,
        )
    return response
