"""What happens to an S3 request once its caller is known, before authorization: the rate
limit, and what the audit log notes (the key's use; changes to a bucket's settings).

The dispatcher's one call (:func:`admit`), right after authentication. Over the limit is
``503 SlowDown`` with ``Retry-After``, the answer AWS gives and the SDKs back off on
(boto3's standard and adaptive retry modes retry it by themselves). The
``X-RateLimit-*`` headers are written on every response by the limiter's
``on_response_prepare`` handler (:mod:`gateway.ratelimit.http`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.audit import s3 as audit_s3
from gateway.audit.http import note_key_use
from gateway.principal import Principal
from gateway.ratelimit import http as limits
from gateway.ratelimit.verdict import Verdict
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request

__all__ = ["admit", "refuse_over_limit"]


async def admit(
    request: web.Request, req: S3Request, principal: Principal, request_id: str
) -> None:
    """Spend the request's tokens (``SlowDown`` when a bucket is empty) and note its
    audit facts."""
    verdict = await limits.admit(request, principal)
    if principal.key_id is not None:
        note_key_use(request, principal, request_id, "s3")
    operation = req.operation
    audit_s3.note(
        request,
        operation.name,
        operation.implemented,
        principal,
        req.address.bucket,
        req.address.key,
        request_id,
        version_id=req.version_id,
        bypass_governance=req.bypass_governance,
    )
    refuse_over_limit(verdict)


def refuse_over_limit(verdict: Verdict | None) -> None:
    """``SlowDown`` for a request the limiter refused (its ``Retry-After`` and
    ``X-RateLimit-*`` come from the limiter's response hook, which sees the verdict)."""
    if verdict is not None and not verdict.allowed:
        raise S3Error("SlowDown", "Please reduce your request rate.")
