"""What a handler receives (``Context``) and what it returns (``Result``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from backends.base import Backend
from backends.types import ObjectRead
from gateway.auth.principal import Principal
from gateway.config import Config
from gateway.s3.addressing import Address
from gateway.s3.body import RequestBody, make_body
from gateway.s3.errors import S3Error
from gateway.s3.operations import Operation
from sigv4 import VerifiedRequest


@dataclass(slots=True)
class Context:
    request: web.Request
    request_id: str
    address: Address
    operation: Operation
    principal: Principal
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Lower-cased header names, first value."""
    header_pairs: tuple[tuple[str, str], ...]
    verified: VerifiedRequest | None
    backend: Backend
    config: Config
    now: datetime

    @property
    def bucket(self) -> str:
        if self.address.bucket is None:
            raise S3Error("InvalidRequest", "This operation needs a bucket")
        return self.address.bucket

    @property
    def key(self) -> str:
        if self.address.key is None:
            raise S3Error("InvalidRequest", "This operation needs an object key")
        return self.address.key

    def body(self, *, backend_checks_md5: bool = False) -> RequestBody:
        return make_body(
            self.request,
            self.header_pairs,
            self.verified,
            streaming=self.operation.streaming,
            max_size=self.config.s3.max_object_size,
            backend_checks_md5=backend_checks_md5,
        )

    async def xml_body(self) -> bytes:
        return await self.body().read_all(self.config.s3.max_xml_body)


@dataclass(slots=True)
class Result:
    """A handler's answer. ``xml`` is a rendered document; ``stream`` an object body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    xml: bytes | None = None
    stream: ObjectRead | None = None
