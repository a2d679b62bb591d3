"""A SigV4 ``Authorization`` header holds exactly ``Credential``, ``SignedHeaders`` and
``Signature``: S3 answers any other component (``Foo=bar``, a misspelt or lower-case
name) 400 ``AuthorizationHeaderMalformed``. The gateway skipped one it did not know, so
a header S3 refuses was verified and acted on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


@pytest.mark.parametrize("extra", ["Foo=bar", "credential=x", "Signature-2=abc"])
def test_an_unknown_component_of_the_authorization_header_is_refused(
    gateway: Gateway, s3: Any, bucket: str, extra: str
) -> None:
    body = b"new"
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    headers = sign(gateway, "PUT", f"/{bucket}/k", body=body)
    authorization = headers.pop("Authorization")
    algorithm, _, components = authorization.partition(" ")
    for value in (f"{authorization}, {extra}", f"{algorithm} {extra}, {components}"):
        response = raw_request(
            gateway, "PUT", f"/{bucket}/k", body=body, headers={**headers, "Authorization": value}
        )
        assert (response.status, response.error_code()) == (400, "AuthorizationHeaderMalformed")
        message = response.xml().findtext("Message") or ""
        assert f'the authorization component "{extra}" is malformed' in message
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
    # The header as signed, without the extra component, is accepted.
    response = raw_request(
        gateway,
        "PUT",
        f"/{bucket}/k",
        body=body,
        headers={**headers, "Authorization": authorization},
    )
    assert response.status == 200
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"
