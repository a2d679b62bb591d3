"""Redirects from the upstream store: followed at most once, and only to a region it names.

botocore's region redirector (``S3RegionRedirectorv2``, which every aiobotocore S3 client
registers on ``needs-retry.s3``) sends a request again, signed for the bucket's region,
when the store answers it with a redirect: a 301, 302 or 307, ``PermanentRedirect``, a
HEAD's bodiless 400 or 301, ``AuthorizationHeaderMalformed`` naming a ``Region``. It
marks the request as redirected, so the request sent again is not redirected a second
time. But where the answer does not name the region it asks HeadBucket for it first, and
that HeadBucket is a request of its own: answered with a redirect too, it asks HeadBucket
again, and so on until Python's recursion limit. A store (or a proxy in front of it:
nginx sending ``http://`` to ``https://``) that answers 301 without
``x-amz-bucket-region`` made one call about a hundred upstream requests, every client
request of that bucket the same.

``register`` puts ``_named_region_only`` ahead of the redirector: a redirect is followed
only when the answer names a region (its ``x-amz-bucket-region`` header, or the error
document's ``Region``) that is a valid region name and not the one the request was
signed for; otherwise the request is given the redirector's own mark (redirected
already), and the redirector stands aside without asking anything. AWS names the region
in every redirect it sends (the 301 ``PermanentRedirect``, the HEAD's 400 and 301, the
``AuthorizationHeaderMalformed`` document), so a bucket that really lives in another
region is still reached, as before. An upstream call through aiobotocore is at most two
requests; the lean client follows nothing itself and hands a HeadBucket to aiobotocore
only when ``hands_over`` says aiobotocore would follow it (at most three requests).

An answer that is a redirect, and is not followed (or is the answer to the one request
sent again), is ``redirect_refused``: ``ServiceUnavailable`` (503) with ``Retry-After``.
The client talks to the gateway, and a redirect to some endpoint or region of the store
means nothing to it (passed on, an SDK would send its request to the gateway again,
signed for the store's region); the store keeping a request from its bucket is the
store's fault (or the gateway's configuration), as a proxy's page is (``proxy_pages``).
A warning line names the operation, the status, the region named and the ``Location``,
at most once a minute per operation and status. It is not an outage
(``backends.outage``): the store answered, and a redirect of one bucket among working
ones would otherwise log an outage and its end around every request.

Cost: nothing on a 2xx answer of either client; per error answer of the lean client one
comparison more; per aiobotocore error answer that botocore's redirector would also look
at, one call of ``_named_region_only`` (a few dictionary look-ups).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from backends.errors import BackendError
from backends.s3.log_gate import LogGate

__all__ = [
    "REDIRECT_EVERY",
    "RedirectRefused",
    "hands_over",
    "is_redirect",
    "redirect_refused",
    "register",
]

log = logging.getLogger(__name__)

_REGION = re.compile(r"(?![0-9]+\Z)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
"""A region name botocore accepts (``utils.validate_region_name``, without its empty
name): anything else makes botocore raise instead of redirecting."""
_REDIRECT_CODES = frozenset({"PermanentRedirect", "TemporaryRedirect", "Redirect"})
"""S3's error codes for a redirect (its 301 and 307 documents)."""
_FOLLOWED = frozenset({301, 302, 307})
"""Statuses botocore's redirector follows whatever the operation."""

REDIRECT_EVERY = 60.0
"""Seconds between two log lines for one (operation, status)."""
_lines = LogGate(REDIRECT_EVERY)
"""When each (operation, status) was last logged: bounded by the operations and the
statuses."""


class RedirectRefused(BackendError):
    """``ServiceUnavailable`` for a redirect of the store that is not followed: not an
    outage of the store (``upstream_errors.store_failed``)."""


def is_redirect(status: int, code: str) -> bool:
    """Whether an error answer (HTTP ``status``, S3 ``code``) is a redirect: a 3xx other
    than 304 (which describes the object), or S3's redirect codes."""
    return (300 <= status < 400 and status != 304) or code in _REDIRECT_CODES


def _named(region: Any, signed_for: Any) -> bool:
    """Whether ``region`` (from an answer) is one to send the request again for."""
    return (
        isinstance(region, str) and region != signed_for and _REGION.fullmatch(region) is not None
    )


def hands_over(status: int, headers: Mapping[str, str], signed_for: str) -> bool:
    """Whether the lean client's bodiless HeadBucket answer is one aiobotocore follows
    (``_named_region_only`` lets botocore's redirector act on it): a 301, 302 or 307, or a
    400, naming another valid region in ``x-amz-bucket-region`` than ``signed_for``."""
    return (status in _FOLLOWED or status == 400) and _named(
        headers.get("x-amz-bucket-region"), signed_for
    )


def _named_region_only(
    request_dict: dict[str, Any], response: Any, operation: Any, **_: Any
) -> None:
    """``needs-retry.s3``, ahead of botocore's redirector: an answer that names no other
    valid region marks the request as redirected, so the redirector leaves it (and asks
    no HeadBucket). Answers the redirector would not act on are left alone as well: the
    mark means nothing to anything else."""
    if response is None:
        return  # a transport failure: nothing to redirect
    context = request_dict.get("context", {})
    redirect = context.get("s3_redirect")
    if not redirect or redirect.get("redirected"):
        return
    parsed = response[1]
    headers = parsed.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    signed_for = context.get("signing", {}).get("region", context.get("client_region"))
    region = headers.get("x-amz-bucket-region") or parsed.get("Error", {}).get("Region")
    if not _named(region, signed_for):
        redirect["redirected"] = True


def register(events: Any) -> None:
    """Hook ``_named_region_only`` into an aiobotocore client's ``needs-retry`` events,
    ahead of botocore's redirector (handlers registered first run first)."""
    events.register_first("needs-retry.s3", _named_region_only, unique_id="nfyio-redirects")


def redirect_refused(
    operation: str, status: int, headers: Mapping[str, Any], retry_after: int
) -> RedirectRefused:
    """The error for a redirect answer (``is_redirect``) that the gateway does not follow
    further; logged at most once every ``REDIRECT_EVERY`` seconds per operation and
    status. Nothing of the answer goes to the client (its region and endpoint are the
    store's)."""
    if _lines.due((operation, status)):
        log.warning(
            "upstream %s answered %d, a redirect (x-amz-bucket-region: %r, Location: %r): "
            "not followed; the gateway follows one redirect that names another region, "
            "no other; answered 503 (logged at most once a minute)",
            operation or "request",
            status,
            str(headers.get("x-amz-bucket-region", ""))[:80],
            str(headers.get("location", ""))[:200],
        )
    return RedirectRefused(
        "ServiceUnavailable",
        "the upstream store answered with a redirect",
        extra={"RetryAfter": str(retry_after)},
    )
