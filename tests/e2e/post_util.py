"""Browser-style POST Object requests: multipart/form-data bodies built as a browser
builds them, sent over http.client (HTTP or HTTPS), and SigV2 policies signed by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request


def form_body(
    fields: Iterable[tuple[str, str]],
    content: bytes,
    *,
    filename: str = "upload.bin",
    file_type: str = "application/octet-stream",
    after: Iterable[tuple[str, str]] = (),
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """(body, Content-Type): the fields in order, then the file, then ``after``."""
    boundary = boundary or f"----NfyioFormBoundary{uuid.uuid4().hex}"
    parts: list[bytes] = []

    def field(name: str, value: str) -> None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )

    for name, value in fields:
        field(name, value)
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: {file_type}\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    for name, value in after:
        field(name, value)
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_form(
    gw: Gateway,
    bucket: str,
    fields: Mapping[str, str] | Iterable[tuple[str, str]],
    content: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> RawResponse:
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    body, content_type = form_body(pairs, content, **options)
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return raw_request(gw, "POST", f"/{bucket}", body=body, headers=all_headers)


def presigned_post(s3: Any, bucket: str, key: str, **kwargs: Any) -> dict[str, str]:
    """boto3's ``generate_presigned_post`` fields, as a web page would get them."""
    fields: dict[str, str] = s3.generate_presigned_post(Bucket=bucket, Key=key, **kwargs)["fields"]
    return fields


def sigv2_fields(
    access_key: str,
    secret: str,
    bucket: str,
    key: str,
    *,
    conditions: list[Any] | None = None,
    expires_in: int = 600,
) -> dict[str, str]:
    """A SigV2 form (``AWSAccessKeyId``, ``signature``, ``policy``), as aws-cli v1 made."""
    expiration = (datetime.now(UTC) + timedelta(seconds=expires_in)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    document = {
        "expiration": expiration,
        "conditions": [{"bucket": bucket}, {"key": key}, *(conditions or [])],
    }
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    signature = base64.b64encode(
        hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    ).decode()
    return {"key": key, "AWSAccessKeyId": access_key, "policy": policy, "signature": signature}
