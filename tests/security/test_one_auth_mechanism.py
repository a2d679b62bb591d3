"""Class: a request that carries an ``Authorization`` header and query-string
authentication (a SigV4 or SigV2 presigned URL).

S3 refuses any such request, whatever the header's scheme: 400 ``InvalidArgument``
"Only one auth mechanism allowed; ..." with ``ArgumentName`` ``Authorization`` (clients
meet it when they follow a redirect to a presigned URL with their own token). Before,
the gateway answered 400 ``InvalidRequest`` for a SigV4 header on a SigV4 URL, 403
``SignatureDoesNotMatch`` for one on a SigV2 URL, and used the URL's principal silently
for any other header (``Bearer`` with another key's secret, ``Basic``): which credential
a request stood for depended on the pair. Real gateway, raw HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


@pytest.mark.parametrize("presign", ["s3v4", "s3"], ids=["sigv4-url", "sigv2-url"])
@pytest.mark.parametrize("scheme", ["sigv4", "bearer", "basic"])
def test_an_authorization_header_with_a_presigned_url_is_refused(
    gateway: Gateway, s3: Any, bucket: str, presign: str, scheme: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    presigner = gateway.client(signature_version=presign)
    url: str = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=600
    )
    target = url[url.index(f"/{bucket}/") :]
    assert raw_request(gateway, "GET", target).body == b"data"

    headers: dict[str, Any] = {
        "sigv4": sign(gateway, "GET", f"/{bucket}/k"),
        "bearer": {"Authorization": f"Bearer {gateway.secret_key}"},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[scheme]
    response = raw_request(gateway, "GET", target, headers=headers)
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") == "Authorization"
    assert response.xml().findtext("Message", "").startswith("Only one auth mechanism allowed")
