"""The upstream clients: lifecycle, signing, and ``_call``.

Two long-lived clients, both signing with the backend's own credentials (a client's
credentials never travel upstream): the lean client (``lean``) for the operations on the
data path, aiobotocore for every other one. ``_call`` picks; callers see the same
botocore-named fields and the same ``BackendError`` codes from both; ``_answer`` gives
HeadObject and GetObject answers as their headers, for ``meta.object_info``. ``UpstreamClient``
is the base of ``S3Backend`` and of its operation-family mixins (``buckets``,
``objects``, ``copying``, ``multipart``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import botocore.auth
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from backends.base import Backend
from backends.errors import BackendError
from backends.outage import OutageLog
from backends.s3 import proxy_pages, redirects, xml_chars
from backends.s3.aio_session import AbortingSession
from backends.s3.config import UpstreamConfig
from backends.s3.lean import KNOWN_PARAMS, LEAN_OPERATIONS, LeanClient, Redirected, usable
from backends.s3.send_watch import timed
from backends.s3.upstream_errors import translate, unavailable

__all__ = ["Answer", "Call", "UpstreamClient"]

Call = Callable[..., Awaitable[dict[str, Any]]]
"""``UpstreamClient._call``: operation name, ``not_found``, ``headers``, parameters."""

outage_log = logging.getLogger("nfyio.upstream")
"""The upstream store's outages (``backends.outage``)."""

# Raw headers for the next upstream request of this task (botocore types ``Expires`` as a
# timestamp; S3 stores whatever string the client sent).
_extra_headers: ContextVar[Mapping[str, str] | None] = ContextVar(
    "nfyio_upstream_headers", default=None
)


# botocore's CRT signer (used whenever awscrt is installed) copies the body into a BytesIO
# to sign it, which a stream cannot allow. The pure-Python S3 signer never touches the
# body under UNSIGNED-PAYLOAD; it is registered under a name of our own.
_SIGNER = "nfyio-s3v4"
botocore.auth.AUTH_TYPE_MAPS.setdefault(_SIGNER, botocore.auth.S3SigV4Auth)


def _choose_signer(signature_version: Any = None, **_: Any) -> str | None:
    return _SIGNER if signature_version in ("s3v4", "v4") else None


def _add_extra_headers(request: Any, **_: Any) -> None:
    headers = _extra_headers.get()
    if headers:
        for name, value in headers.items():
            request.headers[name] = value


def _checksum_as_trailer(params: dict[str, Any], **_: Any) -> None:
    """``when_supported``: a streamed body's CRC goes as an aws-chunked trailer.

    botocore computes a PutObject's or UploadPart's default CRC before sending, over the
    whole body (``seek``/``tell``), except over https where it sends it as a trailer. A
    streamed body (``streams.UploadBody``) can be read once and is not held: the trailer
    is the one way, so it is chosen over http too (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``,
    the payload is unsigned either way). Bodies in memory or in a spool file keep the
    header. Registered only with ``request_checksum_calculation = "when_supported"``.
    """
    algorithm = params["context"].get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict) and algorithm.get("in") == "header":
        body = params.get("body")
        if hasattr(body, "__aiter__") and not hasattr(body, "seek"):
            algorithm["in"] = "trailer"


class UpstreamClient(Backend):
    """The client's lifecycle and the one way to call upstream (errors translated)."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lean: LeanClient | None = None
        self._outage = OutageLog(outage_log, f"the upstream store ({config.endpoint_url})")
        """Its outages in the log: a line when one starts, one per 10 s while requests
        fail, one when the store answers again; never one per request."""

    async def start(self) -> None:
        cfg = self.config
        botocore_config = AioConfig(
            region_name=cfg.region,
            signature_version="s3v4",
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            max_pool_connections=cfg.max_pool_connections,
            # A streamed body cannot be replayed: one attempt, errors surface at once.
            retries={"total_max_attempts": 1, "mode": "standard"},
            request_checksum_calculation=cfg.request_checksum_calculation,
            response_checksum_validation=cfg.response_checksum_validation,
            # UNSIGNED-PAYLOAD: botocore would otherwise hash the body before sending it
            # over plain HTTP, which a one-pass stream cannot allow. Integrity comes from
            # Content-MD5 (client's, or computed while spooling).
            s3={"addressing_style": cfg.addressing_style, "payload_signing_enabled": False},
            ignore_configured_endpoint_urls=True,
            # an upload the store answered early: its socket closed at once (aio_session)
            http_session_cls=AbortingSession,
        )
        stack = AsyncExitStack()
        session = AioSession()
        self._client = await stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=cfg.endpoint_url,
                region_name=cfg.region,
                aws_access_key_id=cfg.access_key_id,
                aws_secret_access_key=cfg.secret_access_key,
                aws_session_token=None,
                config=botocore_config,
            )
        )
        self._client.meta.events.register_first("choose-signer.s3", _choose_signer)
        self._client.meta.events.register("before-sign.s3", _add_extra_headers)
        if cfg.request_checksum_calculation == "when_supported":
            for operation in ("PutObject", "UploadPart"):
                self._client.meta.events.register(
                    f"before-call.s3.{operation}", _checksum_as_trailer
                )
        xml_chars.register(self._client.meta.events)
        proxy_pages.register(self._client.meta.events)
        # a redirect followed once, to a region the store names; never a HeadBucket loop
        redirects.register(self._client.meta.events)
        if usable(cfg):
            lean = LeanClient(cfg)
            await lean.start()
            stack.push_async_callback(lean.close)
            self._lean = lean
        self._stack = stack

    async def close(self) -> None:
        self._lean = None
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()

    async def ready(self) -> bool:
        if self._client is None:
            return False
        try:
            # a probe tells the outage log too: the store's return shows without requests
            with translate(outage=self._outage):
                await asyncio.wait_for(self._client.list_buckets(), self.config.ready_timeout)
        except BackendError as exc:
            # Any S3 answer (even AccessDenied for ListBuckets) means upstream responds.
            return exc.code not in ("ServiceUnavailable", "SlowDown")
        return True

    def _up(self, bucket: str) -> str:
        return self.config.bucket_prefix + bucket

    async def _call(
        self,
        operation: str,
        *,
        not_found: str = "NoSuchKey",
        denied: str = "InternalError",
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Call the upstream operation; errors translated (``not_found``: what a bodiless
        404 means; ``denied``: what AccessDenied means, see ``errors.translate_error``)."""
        if self._client is None:
            raise BackendError("ServiceUnavailable", "the upstream backend is not started")
        lean = self._lean_for(operation, params)
        if lean is not None:
            with translate(not_found=not_found, denied=denied, outage=self._outage):
                try:
                    return await lean.call(
                        operation, not_found=not_found, headers=headers, **params
                    )
                except Redirected:
                    pass  # a HeadBucket sent to another region: aiobotocore follows it once
        token = _extra_headers.set(headers)
        prefix = self.config.bucket_prefix
        body = params.get("Body")
        watch = None
        if body is not None and not hasattr(body, "__aiter__"):
            # a spooled body (bytes, or its file): aiohttp has no write timeout of its own
            # (a streamed one is watched by streams.send_streamed)
            params["Body"], watch = timed(body, self.config.read_timeout)
        try:
            with translate(
                not_found=not_found, denied=denied, bucket_prefix=prefix, outage=self._outage
            ):
                result: dict[str, Any] = await getattr(self._client, operation)(**params)
        except asyncio.CancelledError:
            if watch is not None and watch.expired():
                raise unavailable(
                    "ServiceUnavailable",
                    f"the upstream store took no request body for {self.config.read_timeout}s",
                ) from None
            raise
        finally:
            _extra_headers.reset(token)
            if watch is not None:
                watch.stop()
        return result

    async def _answer(
        self, operation: str, *, not_found: str = "NoSuchKey", **params: Any
    ) -> Answer:
        """HeadObject or GetObject as its answer's status and headers (and body): what
        ``meta.object_info`` reads, from either client. The lean client's answer is not
        turned into botocore's fields first (a proxied HEAD's second conversion)."""
        lean = self._lean_for(operation, params)
        if lean is None:
            result = await self._call(operation, not_found=not_found, **params)
            metadata = result["ResponseMetadata"]
            return Answer(metadata["HTTPStatusCode"], metadata["HTTPHeaders"], result.get("Body"))
        with translate(not_found=not_found, outage=self._outage):
            response = await lean.answer(operation, not_found=not_found, **params)
        if operation != "get_object":
            response.close()  # a HEAD's answer is whole with its head
            return Answer(response.status, response.headers)
        return Answer(response.status, response.headers, response)

    def _lean_for(self, operation: str, params: Mapping[str, Any]) -> LeanClient | None:
        """The lean client, if it serves this call (else aiobotocore does)."""
        lean = self._lean
        if lean is not None and operation in LEAN_OPERATIONS and KNOWN_PARAMS.issuperset(params):
            return lean
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    """A HeadObject / GetObject answer as both clients give it."""

    status: int
    headers: Mapping[str, str]
    """Lower-case names (``Response.headers``, botocore's ``HTTPHeaders``)."""
    body: Any = None
    """GetObject: the body to read (``read(amount)``, ``close()``); None for HeadObject."""
