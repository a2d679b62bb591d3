"""``/v1/buckets``: list (with optional statistics), create and delete buckets.

Through the same backend as the S3 listener, with the same bucket-name rules and the
caller's bucket limits (a limited key sees only its buckets; others are ``AccessDenied``).
A caller sees and deletes only its account's buckets (``gateway/s3/bucket_owners.py``);
names are global, so creating a name another account holds is 409.

``"versioning": true`` creates the bucket with versioning enabled; every bucket reports
its state as ``"versioning"``: ``"Enabled"``, ``"Suspended"`` or null (never versioned).
A listed bucket shows its state and counts only where the S3 decision would answer the
caller's GetBucketVersioning, resp. HeadBucket (``s3:ListBucket``): a bucket policy's
Deny leaves the field out (``gateway/api/object_access.py``).

The listing pages as the other ``/v1`` listings do: ``limit`` (1-1,000, default 50) and
``cursor`` (the previous page's ``next_cursor``, sealed and bound to the route, the caller
and its filters by ``gateway/api/cursors.py``; ``null`` on the last page), in name order.
The per-bucket work (access decisions, versioning states, counts) is done for one page.

HEAD answers once the bucket list is read, without the per-bucket work or the counts (and
so without ``Content-Length``): see docs/api.md.

``?stats=true`` is bounded: the filesystem backend reads counters its triggers keep (one
lookup per bucket); the upstream backend walks each bucket's listing, so the whole count
gets ``server.bucket_stats_timeout`` seconds (then ``503 ServiceUnavailable`` with
``Retry-After``) and at most ``STATS_CONCURRENCY`` such requests run at once per worker
(more are refused the same way at once).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, NoReturn

from aiohttp import web

from backends.base import Backend
from backends.errors import BackendError
from backends.types import VERSIONING_ENABLED, BucketInfo
from gateway.api.access_keys import DEFAULT_PAGE, MAX_PAGE, iso
from gateway.api.auth import PRINCIPAL, caller_account
from gateway.api.backend_errors import raise_backend
from gateway.api.cursors import issue_cursor, read_cursor
from gateway.api.errors import ApiError
from gateway.api.object_access import authorize_rest, rest_allows
from gateway.api.validation import (
    invalid,
    optional_bool,
    query_bool,
    query_limit,
    read_json_object,
    required_str,
)
from gateway.audit.http import set_target
from gateway.identity.bucket_settings import AccountGone
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal
from gateway.s3.addressing import creatable_bucket_name, valid_bucket_name
from gateway.s3.bucket_facts import OWNER, bucket_exists
from gateway.s3.bucket_owners import create_owned_bucket, delete_owned_bucket, owned_buckets
from gateway.state import BACKEND, CONFIG, IDENTITY

__all__ = [
    "STATS_CONCURRENCY",
    "bucket_json",
    "create_bucket",
    "delete_bucket",
    "install_stats_limit",
    "list_buckets",
    "path_bucket",
]

STATS_CONCURRENCY = 4
"""``GET /v1/buckets?stats=true`` requests counting at once, per worker."""
_STATS_SLOTS = web.AppKey("bucket_stats_slots", asyncio.Semaphore)


def install_stats_limit(app: web.Application) -> None:
    """Give ``app`` the semaphore that bounds concurrent counts (before it starts)."""
    app[_STATS_SLOTS] = asyncio.Semaphore(STATS_CONCURRENCY)


def _raise_backend(exc: BackendError, bucket: str) -> NoReturn:
    raise_backend(exc, {"bucket": bucket})


def bucket_json(info: BucketInfo, versioning: str | None = None) -> dict[str, Any]:
    return {
        "name": info.name,
        "created_at": iso(info.created_at),
        "region": info.region,
        "versioning": versioning,
    }


def _check_allowed(principal: Principal, bucket: str) -> None:
    if not principal.allows_bucket(bucket):
        raise ApiError(
            403,
            "AccessDenied",
            "Your credential is limited to other buckets",
            {"bucket": bucket},
        )


def _stats_unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message, headers={"Retry-After": "5"})


async def path_bucket(request: web.Request, *, backend_answers_missing: bool) -> str:
    """The ``{name}`` of the path, once the caller may use it: within its bucket limits
    and its account's (403 ``AccessDenied``), and a bucket that exists (404 ``NotFound``
    for a name S3 would refuse, or that no bucket has), for every caller alike.

    A name without a recorded owner is the system account's when the bucket exists
    (``gateway/s3/bucket_owners.py``: every bucket made through the gateway has one, so
    these are buckets made before accounts, or directly in an upstream store), else no
    bucket at all. For a caller outside the system account it is looked up (one
    HeadBucket), so that it is 404, not "another account's". For a system-account caller
    it is looked up only when the route asks the backend nothing about the bucket
    (``backend_answers_missing=False``: a presign); a route whose backend call answers
    ``NoSuchBucket`` itself (404) passes ``True`` and pays no round trip for it."""
    name = request.match_info["name"]
    _check_allowed(request[PRINCIPAL], name)
    if not valid_bucket_name(name):
        raise _no_such_bucket(name)
    recorded = await request.app[IDENTITY].bucket_settings.get(name, OWNER)
    own = (recorded or SYSTEM_ACCOUNT_ID) == caller_account(request)
    look = recorded is None and not (own and backend_answers_missing)
    if look and not await _exists(request.app[BACKEND], name):
        raise _no_such_bucket(name)
    if not own:
        raise ApiError(
            403, "AccessDenied", "The bucket belongs to another account", {"bucket": name}
        )
    return name


def _no_such_bucket(name: str) -> ApiError:
    return ApiError(404, "NotFound", "No such bucket", {"bucket": name})


async def _exists(backend: Backend, name: str) -> bool:
    try:
        return await bucket_exists(backend, name)
    except BackendError as exc:
        _raise_backend(exc, name)


async def _versioning_states(
    backend: Backend, infos: list[BucketInfo]
) -> list[str | BackendError | None]:
    """Each bucket's versioning state, at most ``STATS_CONCURRENCY`` lookups at a time (an
    upstream store answers each with a request)."""
    limit = asyncio.Semaphore(STATS_CONCURRENCY)

    async def one(name: str) -> str | BackendError | None:
        async with limit:
            try:
                return await backend.get_bucket_versioning(name)
            except BackendError as exc:
                return exc

    return list(await asyncio.gather(*(one(info.name) for info in infos)))


async def _with_stats(
    request: web.Request, items: list[tuple[BucketInfo, dict[str, Any], bool]]
) -> list[dict[str, Any]]:
    backend = request.app[BACKEND]
    slots = request.app[_STATS_SLOTS]
    timeout = request.app[CONFIG].server.bucket_stats_timeout
    if slots.locked():
        raise _stats_unavailable("Too many bucket statistics requests are running")
    result = []
    async with slots:
        try:
            async with asyncio.timeout(timeout):
                for info, item, counted in items:
                    if not counted:
                        result.append(item)
                        continue
                    try:
                        item["object_count"], item["size_bytes"] = await backend.bucket_stats(
                            info.name
                        )
                    except BackendError as exc:
                        if exc.code == "NoSuchBucket":  # deleted meanwhile
                            continue
                        _raise_backend(exc, info.name)
                    result.append(item)
        except TimeoutError:
            raise _stats_unavailable(
                f"Counting the buckets' objects took longer than {timeout:g} s"
            ) from None
    return result


def _head() -> web.Response:
    """HEAD's answer, once its status is known (the caller's checks and the bucket list
    decide it): the per-bucket work (access decisions, versioning states, counts) only
    makes the body, so it is not done, and the body's length is not claimed (RFC 9110
    9.3.2 lets a HEAD leave out what only making the content tells)."""
    return web.Response(content_type="application/json", charset="utf-8")


_SHOWN = ("GetBucketVersioning", "HeadBucket")
"""What a listed bucket shows, each as the S3 operation answering it: its versioning
state, and (``?stats=true``) its counts (``s3:ListBucket``, under ``read:buckets``)."""


def _page(
    infos: list[BucketInfo], after: str | None, limit: int
) -> tuple[list[BucketInfo], str | None]:
    """The ``limit`` buckets by name after ``after`` (``None``: from the first), and the
    name the next page starts after (``None``: this is the last)."""
    rest = sorted(
        (info for info in infos if after is None or info.name > after), key=lambda b: b.name
    )
    page = rest[:limit]
    return page, page[-1].name if len(rest) > limit else None


async def list_buckets(request: web.Request) -> web.Response:
    """One page of the caller's buckets; a bucket's versioning state and counts only where
    the S3 decision would answer GetBucketVersioning, resp. HeadBucket (a bucket policy's
    Deny leaves them out: the names are ListBuckets', which no bucket policy decides)."""
    principal = request[PRINCIPAL]
    stats = query_bool(request, "stats")
    limit = query_limit(request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    after = read_cursor(request)
    backend = request.app[BACKEND]
    try:
        owned = await owned_buckets(request.app[IDENTITY], backend, caller_account(request))
        infos = [b for b in owned if principal.allows_bucket(b.name)]
    except BackendError as exc:
        _raise_backend(exc, "")
    if request.method == "HEAD":
        return _head()
    page, last = _page(infos, after, limit)
    shown: list[tuple[BucketInfo, tuple[bool, ...]]] = []
    for info in page:
        allowed = await rest_allows(request, info.name, _SHOWN)
        if allowed is not None:  # else deleted meanwhile
            shown.append((info, allowed))
    versioned = [info for info, (versioning, _) in shown if versioning]
    states = dict(
        zip(
            (info.name for info in versioned),
            await _versioning_states(backend, versioned),
            strict=True,
        )
    )
    items: list[tuple[BucketInfo, dict[str, Any], bool]] = []
    for info, (versioning, counted) in shown:
        item = bucket_json(info)
        if versioning:
            state = states[info.name]
            if isinstance(state, BackendError) and state.code == "NoSuchBucket":
                continue  # deleted meanwhile
            if isinstance(state, BackendError):
                _raise_backend(state, info.name)
            item["versioning"] = state
        else:
            del item["versioning"]
        items.append((info, item, counted))
    listed = await _with_stats(request, items) if stats else [item for _info, item, _c in items]
    return web.json_response({"buckets": listed, "next_cursor": issue_cursor(request, last)})


async def create_bucket(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    body = await read_json_object(request, allowed=("name", "versioning"))
    name = required_str(body, "name")
    if not creatable_bucket_name(name):
        raise invalid(
            "name",
            "Bucket names are 3-63 characters of a-z, 0-9, '.' and '-', start and end "
            "with a letter or digit, and are not IP addresses nor names AWS reserves "
            "(xn--, sthree-, amzn-s3-demo- ...; -s3alias, --ol-s3, .mrap, --x-s3, "
            "--table-s3)",
        )
    versioning = optional_bool(body, "versioning")
    set_target(request, "bucket", name, versioning=bool(versioning))
    _check_allowed(principal, name)
    backend = request.app[BACKEND]
    try:
        info = await create_owned_bucket(
            request.app[IDENTITY],
            backend,
            name,
            caller_account(request),
            region=request.app[CONFIG].s3.region,
            most=request.app[CONFIG].s3.max_buckets_per_account,
            block_sse_c=request.app[CONFIG].s3.block_sse_c_on_new_buckets,
        )
    except BackendError as exc:
        _raise_backend(exc, name)
    except AccountGone:  # deleted after this request's credential was accepted
        raise ApiError(
            403, "AccessDenied", "The account of this credential was deleted", {"bucket": name}
        ) from None
    if versioning:
        try:
            await backend.put_bucket_versioning(name, VERSIONING_ENABLED)
        except BackendError as exc:
            with contextlib.suppress(BackendError):  # no half-made bucket is left behind
                await delete_owned_bucket(request.app[IDENTITY], backend, name)
            _raise_backend(exc, name)
    state = VERSIONING_ENABLED if versioning else None
    return web.json_response(bucket_json(info, state), status=201)


async def delete_bucket(request: web.Request) -> web.Response:
    name = await path_bucket(request, backend_answers_missing=True)  # DeleteBucket's 404
    await authorize_rest(request, name, "DeleteBucket")
    store = request.app[IDENTITY]
    try:
        await delete_owned_bucket(store, request.app[BACKEND], name)
    except BackendError as exc:
        _raise_backend(exc, name)
    return web.Response(status=204)
