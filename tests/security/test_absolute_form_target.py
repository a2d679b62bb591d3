"""Class: an absolute-form request target is split as RFC 3986 splits it.

HTTP/1.1 servers must accept ``GET http://host/path`` (RFC 9112 3.2.2). The gateway took
the path from the first ``/`` after the scheme, so ``http://host?x/bucket/key`` was read
as the object ``/bucket/key``, where any URL parser (a proxy's path rules, an access log
in front) reads the authority ``host``, the path ``/`` and the query ``x/bucket/key``.
The authority now ends at the first ``/``, ``?`` or ``#`` (``gateway.s3.addressing``), so
the gateway answers the request a proxy in front saw: one to the service whose query names
no subresource it knows (``NotImplemented``), not the object.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.security.rawhttp import exchange


def test_a_query_in_the_authority_is_no_path(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret-body")
    key = [("X-API-Key", gateway.secret_key)]
    authority = f"http://127.0.0.1:{gateway.s3_port}"
    plain = exchange(gateway, "GET", f"{authority}/{bucket}/k", key)
    assert (plain.status, plain.body) == (200, b"secret-body")
    for target in (f"{authority}?x/{bucket}/k", f"{authority}?/{bucket}/k"):
        reply = exchange(gateway, "GET", target, key)
        # the service, with a query naming no subresource the gateway knows
        assert (reply.status, reply.error_code()) == (501, "NotImplemented"), reply.body
        assert b"secret-body" not in reply.body
