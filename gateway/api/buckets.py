"""``/v1/buckets``: list (with optional statistics), create and delete buckets.

Through the same backend as the S3 listener, with the same bucket-name rules and the
caller's bucket limits (a limited key sees only its buckets; others are ``AccessDenied``).
Versioning is not implemented: ``"versioning": true`` is a 400 ``ValidationError``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from aiohttp import web

from backends.errors import BackendError
from backends.types import BucketInfo
from gateway.api.auth import PRINCIPAL
from gateway.api.backend_errors import raise_backend
from gateway.api.errors import ApiError
from gateway.api.keys import iso
from gateway.api.validation import (
    invalid,
    optional_bool,
    query_bool,
    read_json_object,
    required_str,
)
from gateway.principal import Principal
from gateway.s3.addressing import valid_bucket_name
from gateway.state import BACKEND, CONFIG

__all__ = ["bucket_json", "create_bucket", "delete_bucket", "list_buckets", "path_bucket"]


def _raise_backend(exc: BackendError, bucket: str) -> NoReturn:
    raise_backend(exc, {"bucket": bucket})


def bucket_json(info: BucketInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "created_at": iso(info.created_at),
        "region": info.region,
    }


def _check_allowed(principal: Principal, bucket: str) -> None:
    if not principal.allows_bucket(bucket):
        raise ApiError(
            403,
            "AccessDenied",
            "Your credential is limited to other buckets",
            {"bucket": bucket},
        )


def path_bucket(request: web.Request) -> str:
    """The ``{name}`` of the path, once the caller may use it (403 ``AccessDenied``) and
    it can exist at all (404 ``NotFound`` for a name S3 would refuse)."""
    name = request.match_info["name"]
    _check_allowed(request[PRINCIPAL], name)
    if not valid_bucket_name(name):
        raise ApiError(404, "NotFound", "No such bucket", {"bucket": name})
    return name


async def list_buckets(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    stats = query_bool(request, "stats")
    backend = request.app[BACKEND]
    try:
        infos = [b for b in await backend.list_buckets() if principal.allows_bucket(b.name)]
    except BackendError as exc:
        _raise_backend(exc, "")
    result = []
    for info in sorted(infos, key=lambda b: b.name):
        item = bucket_json(info)
        if stats:
            try:
                item["object_count"], item["size_bytes"] = await backend.bucket_stats(info.name)
            except BackendError as exc:
                if exc.code == "NoSuchBucket":  # deleted meanwhile
                    continue
                _raise_backend(exc, info.name)
        result.append(item)
    return web.json_response({"buckets": result})


async def create_bucket(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    body = await read_json_object(request, allowed=("name", "versioning"))
    name = required_str(body, "name")
    if not valid_bucket_name(name):
        raise invalid(
            "name",
            "Bucket names are 3-63 characters of a-z, 0-9, '.' and '-', start and end "
            "with a letter or digit, and are not IP addresses",
        )
    if optional_bool(body, "versioning"):
        raise invalid(
            "versioning", "Bucket versioning is not implemented; omit 'versioning' or send false"
        )
    _check_allowed(principal, name)
    try:
        info = await request.app[BACKEND].create_bucket(name, region=request.app[CONFIG].s3.region)
    except BackendError as exc:
        _raise_backend(exc, name)
    return web.json_response(bucket_json(info), status=201)


async def delete_bucket(request: web.Request) -> web.Response:
    name = path_bucket(request)
    try:
        await request.app[BACKEND].delete_bucket(name)
    except BackendError as exc:
        _raise_backend(exc, name)
    return web.Response(status=204)
