"""Authentication and scope checks on the API listener: once, before the handler runs.

:func:`access_middleware` reads the row of the route table the request matched
(:mod:`gateway.api.routing`): a public row passes; any other row needs a credential
(:func:`authenticate`), and a row with a scope needs a principal holding it. Handlers read
the caller from ``request[PRINCIPAL]`` and never check access themselves.

The caller is known from authentication on (:data:`CALLER`), before the rate limit and
the row's scope or root check: whatever refuses it after that (429, ``ScopeRequired``,
``RootRequired``, an unknown query parameter, the handler's own checks) is answered to
that caller, so its access-log line names it, its answer is ``no-store``
(:func:`uncached_answers`) and an audited row records the refusal
(:mod:`gateway.api.observe`). :data:`PRINCIPAL` is set only once the checks pass: what
handlers read.

Credentials: ``Authorization: Bearer <api-key secret | JWT>`` or ``X-API-Key: <secret>``
(the shared parser :func:`gateway.auth.credentials.bearer_token`). Failures answer in the
API's JSON shape (:mod:`gateway.api.errors`): 401 ``Unauthorized`` (no credentials), 401
``InvalidApiKey`` / ``InvalidToken`` (refused credential), 403 ``ScopeRequired`` with
``details.required_scope``, 403 ``RootRequired`` on a root-only row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from gateway.api.errors import UNAUTHORIZED_HEADERS, ApiError, insufficient_scope
from gateway.api.limits import admit_caller
from gateway.api.openapi import refuse_unknown_query
from gateway.api.routing import PUBLIC, ROOT, continue_body, row_of
from gateway.auth.bearer import principal_from_bearer
from gateway.auth.credentials import bearer_token
from gateway.principal import Principal
from gateway.state import IDENTITY, TOKEN_VERIFIER

__all__ = [
    "CALLER",
    "PRINCIPAL",
    "access_middleware",
    "authenticate",
    "caller_account",
    "root_required",
    "scope_required",
    "uncached_answers",
]

PRINCIPAL = web.RequestKey("principal", Principal)
"""The authenticated caller the row admits; set by :func:`access_middleware` on every
non-public route once the rate limit and the scope or root check passed."""
CALLER = web.RequestKey("caller", Principal)
"""The authenticated caller, set by :func:`access_middleware` as soon as authentication
succeeded, admitted or not: what the access log, the audit log and ``no-store`` read.
Never what a handler decides by (that is :data:`PRINCIPAL`)."""


async def authenticate(request: web.Request) -> Principal:
    """The caller of this request, or a 401 (``ApiError`` or ``AuthError``)."""
    token = bearer_token(request.headers)
    if token is None:
        raise ApiError(401, "Unauthorized", "Authentication required", headers=UNAUTHORIZED_HEADERS)
    return await principal_from_bearer(
        token, request.app[IDENTITY], request.app[TOKEN_VERIFIER], datetime.now(UTC)
    )


def scope_required(scope: str) -> ApiError:
    message = f"This operation requires the '{scope}' scope"
    return ApiError(
        403,
        "ScopeRequired",
        message,
        {"required_scope": scope},
        headers=insufficient_scope(scope, message),
    )


def caller_account(request: web.Request) -> str:
    """The account the authenticated caller acts for (every API caller has one)."""
    account = request[PRINCIPAL].account_id
    assert account is not None
    return account


def root_required() -> ApiError:
    message = "Only the root key (NFYIO_ROOT_ACCESS_KEY) may manage accounts"
    # No scope names what is missing: no token or key but the root key is enough.
    return ApiError(403, "RootRequired", message, headers=insufficient_scope(None, message))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, spend the caller's rate-limit tokens (:mod:`gateway.api.limits`) and
    check the matched row's scope before its handler reads anything; then refuse query
    parameters the row's documented operation does not have."""
    row = row_of(request)
    if row is not None and row.scope is not PUBLIC:
        principal = await authenticate(request)
        request[CALLER] = principal
        # the caller's own bucket pays for the request, whatever its row decides
        refusal = await admit_caller(request, principal)
        if refusal is not None:
            return refusal
        if row.scope is ROOT:
            if not principal.root:
                raise root_required()
        elif row.scope is not None and not principal.has_scope(row.scope):
            raise scope_required(row.scope)
        request[PRINCIPAL] = principal
    if row is not None:
        refuse_unknown_query(request, row)
        if not row.own_continue:
            await continue_body(request)
    return await handler(request)


async def uncached_answers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: an answer to an authenticated caller is the caller's own
    (new secrets among them), so no cache keeps it, as RFC 6749 5.1 asks of a token
    answer: ``no-store`` unless the handler set its own (downloads: ``private,
    no-store``). A signal, not the middleware's return path, so that errors (a 404 is
    cacheable by default, RFC 9111 4.2.2) and streamed answers get it too; refusals after
    authentication (429, ``ScopeRequired``, ``RootRequired``) are the caller's as well."""
    if CALLER in request:
        response.headers.setdefault("Cache-Control", "no-store")
