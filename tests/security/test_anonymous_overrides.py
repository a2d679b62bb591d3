"""``response-*`` overrides are for signed requests only: an anonymous GET or HEAD of a
public object cannot choose the headers it is served with (a ``text/html`` type or an
``inline`` disposition on the gateway's origin), as S3 refuses them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import urlopen

_EVIL = "?response-content-type=text/html&response-content-disposition=inline"


def _public_object(s3: Any) -> str:
    bucket = f"pub-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ACL="public-read")
    s3.put_object(
        Bucket=bucket,
        Key="page",
        Body=b"<script>1</script>",
        ContentType="text/plain",
        ACL="public-read",
    )
    return f"/{bucket}/page"


def test_anonymous_requests_cannot_override_response_headers(gateway: Gateway, s3: Any) -> None:
    path = _public_object(s3)
    plain = urlopen(gateway, f"{gateway.s3_url}{path}")
    assert (plain.status, plain.headers["Content-Type"]) == (200, "text/plain")

    refused = urlopen(gateway, f"{gateway.s3_url}{path}{_EVIL}")
    assert refused.status == 400
    assert refused.error_code() == "InvalidRequest"
    assert b"anonymous" in refused.body
    head = urlopen(gateway, f"{gateway.s3_url}{path}{_EVIL}", method="HEAD")
    assert (head.status, head.headers.get("x-amz-error-code")) == (400, "InvalidRequest")

    # A presigned URL is signed: its overrides are honoured.
    bucket, key = path[1:].split("/")
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentType": "text/csv"},
    )
    signed = urlopen(gateway, url)
    assert (signed.status, signed.headers["Content-Type"]) == (200, "text/csv")
