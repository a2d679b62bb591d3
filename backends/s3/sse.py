"""Server-side encryption passed through to the upstream store (mixed into ``S3Backend``).

The upstream encrypts: the gateway forwards what the client asked for (SSE-S3's
``x-amz-server-side-encryption``, SSE-C's key headers, the copy source's SSE-C headers)
as botocore parameters, and reads what the upstream reports back into ``ObjectMeta``.
SSE-C keys travel to the upstream with each request, so the upstream endpoint should be
HTTPS (AWS refuses SSE-C over HTTP itself). Default bucket encryption is the upstream
bucket's own setting.

Everything here is in botocore's parameter names; the lean client (``lean.py``) maps the
same names to headers (see docs/upstream-backend.md, "Server-side encryption").
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from backends.errors import BackendError
from backends.s3.client import UpstreamClient
from backends.s3.upstream_errors import GATEWAY_REFUSED
from backends.types import BucketEncryption, CustomerKey, Encryption, ObjectMeta

__all__ = [
    "SseMixin",
    "copy_source_sse_params",
    "customer_only",
    "key_refused",
    "not_applied",
    "require_encrypted",
    "self_copy_sse_params",
    "source_only",
    "sse_params",
    "unapplied",
    "with_sse",
]


def _customer(prefix: str, key: CustomerKey) -> dict[str, Any]:
    # base64 key *and* its MD5: botocore then sends both as given (it encodes and
    # hashes a key only when no MD5 accompanies it)
    return {
        f"{prefix}SSECustomerAlgorithm": key.algorithm,
        f"{prefix}SSECustomerKey": base64.b64encode(key.key).decode("ascii"),
        f"{prefix}SSECustomerKeyMD5": key.key_md5,
    }


def sse_params(encryption: Encryption | None) -> dict[str, Any]:
    """A write's (or a read's) own encryption parameters."""
    params: dict[str, Any] = {}
    if encryption is None:
        return params
    if encryption.algorithm is not None:
        params["ServerSideEncryption"] = encryption.algorithm
    if encryption.customer is not None:
        params.update(_customer("", encryption.customer))
    return params


def copy_source_sse_params(encryption: Encryption | None) -> dict[str, Any]:
    """The SSE-C parameters that open a copy's source."""
    if encryption is None or encryption.copy_source_customer is None:
        return {}
    return _customer("CopySource", encryption.copy_source_customer)


def self_copy_sse_params(encryption: Encryption | None) -> dict[str, Any]:
    """A copy of an object onto itself that keeps its encryption (and opens it)."""
    if encryption is None:
        return {}
    params = sse_params(Encryption(algorithm=encryption.algorithm, customer=encryption.customer))
    if encryption.customer is not None:
        params.update(_customer("CopySource", encryption.customer))
    return params


def customer_only(encryption: Encryption | None) -> Encryption | None:
    """What a read of the written object needs (its SSE-C key)."""
    if encryption is None or encryption.customer is None:
        return None
    return Encryption(customer=encryption.customer)


def source_only(encryption: Encryption | None) -> Encryption | None:
    """What a read of a copy's source needs (its SSE-C key)."""
    if encryption is None or encryption.copy_source_customer is None:
        return None
    return Encryption(customer=encryption.copy_source_customer)


def unapplied(encryption: Encryption | None, response: Mapping[str, Any]) -> str | None:
    """What of the encryption asked for the upstream's answer does not confirm (None: all
    confirmed). Stores without SSE support (moto ignores SSE-C) answer 200 and store the
    bytes in clear: a client that asked for encryption must never silently get none."""
    if encryption is None:
        return None
    if encryption.customer is not None and not response.get("SSECustomerAlgorithm"):
        return "SSE-C"
    if (
        encryption.algorithm is not None
        and response.get("ServerSideEncryption") != encryption.algorithm
    ):
        return encryption.algorithm
    return None


def not_applied(what: str) -> BackendError:
    return BackendError(
        "NotImplemented",
        f"The upstream store did not apply the server-side encryption asked for ({what}); "
        "nothing was kept",
    )


def key_refused(exc: BackendError, encryption: Encryption | None) -> BackendError:
    """An upstream 403 to a read that carried an SSE-C key: S3's answer to a key that
    does not open the object, so ``AccessDenied``, not a refusal of our credentials."""
    keyed = encryption is not None and (
        encryption.customer is not None or encryption.copy_source_customer is not None
    )
    if keyed and exc.code == "InternalError" and exc.message == GATEWAY_REFUSED:
        return BackendError("AccessDenied", "Access Denied")
    return exc


def with_sse(meta: ObjectMeta, response: Mapping[str, Any]) -> ObjectMeta:
    """``meta`` with the encryption the upstream reports in ``response``."""
    return dataclasses.replace(
        meta,
        server_side_encryption=response.get("ServerSideEncryption") or None,
        sse_customer_algorithm=response.get("SSECustomerAlgorithm") or None,
        sse_customer_key_md5=response.get("SSECustomerKeyMD5") or None,
        sse_customer_key_hmac=None,
    )


async def require_encrypted(
    call: Callable[..., Awaitable[Any]],
    upstream_bucket: str,
    key: str,
    encryption: Encryption | None,
    response: Mapping[str, Any],
) -> None:
    """Delete an object the upstream stored without the encryption asked for (best
    effort: it was written in clear either way) and refuse the request."""
    what = unapplied(encryption, response)
    if what is None:
        return
    with contextlib.suppress(BackendError):
        await call("delete_object", Bucket=upstream_bucket, Key=key)
    raise not_applied(what)


class SseMixin(UpstreamClient):
    """Put/Get/DeleteBucketEncryption on the upstream bucket."""

    async def get_bucket_encryption(self, bucket: str) -> BucketEncryption:
        try:
            response = await self._call(
                "get_bucket_encryption", not_found="NoSuchBucket", Bucket=self._up(bucket)
            )
        except BackendError as exc:
            if exc.code == "ServerSideEncryptionConfigurationNotFoundError":
                # SeaweedFS answers so for a missing bucket too: say which one it is
                await self._call("head_bucket", not_found="NoSuchBucket", Bucket=self._up(bucket))
            raise
        rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules") or []
        if not rules:
            raise BackendError(
                "ServerSideEncryptionConfigurationNotFoundError",
                "The server side encryption configuration was not found",
                extra={"BucketName": bucket},
            )
        rule = rules[0]
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        return BucketEncryption(
            algorithm=str(default.get("SSEAlgorithm") or "AES256"),
            kms_key_id=default.get("KMSMasterKeyID") or None,
            bucket_key_enabled=bool(rule.get("BucketKeyEnabled")),
        )

    async def put_bucket_encryption(self, bucket: str, config: BucketEncryption) -> None:
        default: dict[str, Any] = {"SSEAlgorithm": config.algorithm}
        if config.kms_key_id is not None:
            default["KMSMasterKeyID"] = config.kms_key_id
        await self._call(
            "put_bucket_encryption",
            not_found="NoSuchBucket",
            Bucket=self._up(bucket),
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": default,
                        "BucketKeyEnabled": config.bucket_key_enabled,
                    }
                ]
            },
        )

    async def delete_bucket_encryption(self, bucket: str) -> None:
        await self._call(
            "delete_bucket_encryption", not_found="NoSuchBucket", Bucket=self._up(bucket)
        )
