"""Conditional writes and checksum reads passed to the upstream store (mixed into
``S3Backend``).

A conditional write (or delete) goes upstream only where the store decides it atomically
with the write (``UpstreamConfig.conditional_writes``); elsewhere it is ``NotImplemented``
rather than a check the gateway could only make before the write (another writer could
come in between). What the store answers is normalised to S3's codes: ``If-Match`` on a key that
is gone is ``NoSuchKey`` (SeaweedFS answers 412), a lost race ``ConditionalRequestConflict``
where the store says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from backends.errors import BackendError
from backends.s3.client import UpstreamClient
from backends.s3.params import quote_etag
from backends.types import WriteCondition

__all__ = ["ConditionalMixin", "invalid_part_number", "not_decided"]


def invalid_part_number(requested: int, count: int) -> BackendError:
    return BackendError(
        "InvalidPartNumber",
        "The requested partnumber is not satisfiable",
        extra={"PartNumberRequested": str(requested), "ActualPartCount": str(count)},
    )


def not_decided(operation: str, header: str) -> BackendError:
    return BackendError(
        "NotImplemented",
        f"The upstream store does not decide {header} on {operation} atomically "
        "(backend.conditional_writes)",
        extra={"Header": header},
    )


def _header(condition: WriteCondition) -> str:
    return "If-None-Match" if condition.if_none_match else "If-Match"


class ConditionalMixin(UpstreamClient):
    def condition_params(self, operation: str, condition: WriteCondition | None) -> dict[str, Any]:
        """``IfNoneMatch`` / ``IfMatch`` for ``operation``; ``NotImplemented`` when the
        store is not configured to decide it."""
        if condition is None:
            return {}
        header = _header(condition)
        if not self.config.conditional(operation, header):
            raise not_decided(operation, header)
        if condition.if_none_match:
            return {"IfNoneMatch": "*"}
        assert condition.if_match is not None
        return {"IfMatch": quote_etag(condition.if_match)}

    @asynccontextmanager
    async def conditional_write(
        self, bucket: str, key: str, condition: WriteCondition | None
    ) -> AsyncIterator[None]:
        """Around a conditional write: an ``If-Match`` refused because the key is gone is
        ``NoSuchKey``, as S3 answers (one HEAD, on that failure only)."""
        try:
            yield
        except BackendError as exc:
            if condition is None or condition.if_match is None or exc.code != "PreconditionFailed":
                raise
            try:
                await self.head_object(bucket, key)
            except BackendError as missing:
                if missing.code == "NoSuchKey":
                    raise BackendError(
                        "NoSuchKey", "The specified key does not exist.", extra={"Key": key}
                    ) from None
            raise

    def checksum_mode(self) -> dict[str, Any]:
        """``ChecksumMode=ENABLED`` on reads when the store keeps the checksums."""
        return {"ChecksumMode": "ENABLED"} if self.config.native_checksums else {}
