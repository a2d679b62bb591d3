"""Class: a query parameter a ``/v1`` route does not have, or one given twice, is refused,
never ignored.

Ignored, a misspelt parameter makes the request do something else than its caller meant,
with a success: ``versionId`` (S3's spelling) on the REST delete would delete the current
object, not the version named; ``prefx`` would list every object. Each route's
parameters are those its OpenAPI operation documents (``gateway/api/openapi.py``
``query_parameters``, the one statement of them; schemathesis checks the handlers
against it), and anything else is 400 ``ValidationError`` naming it, before the handler
runs. A parameter given twice (``key=a&key=b``) is refused the same way: this server read
the first, a proxy's rule or a log reader may read the last (the JSON body's duplicate
members are refused for the same reason: tests/security/test_rest_bodies.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json


@pytest.fixture
def bucket_with_object(gateway: Gateway, s3: Any) -> str:
    name = f"sec-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"kept")
    return name


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("DELETE", "/v1/buckets/{b}/objects/content?key=k&versionId=v1", "versionId"),
        ("GET", "/v1/buckets/{b}/objects?prefx=a", "prefx"),
        ("GET", "/v1/buckets/{b}/objects/content?key=k&range=bytes%3D0-1", "range"),
        ("GET", "/v1/access-keys?limit=5&offset=10", "offset"),
        ("DELETE", "/v1/buckets/{b}?force=true", "force"),
        # given twice: read as the first here, perhaps as the last by a proxy or a log
        ("DELETE", "/v1/buckets/{b}/objects/content?key=other&key=k", "key"),
        ("GET", "/v1/buckets/{b}/objects/content?key=k&key=other", "key"),
        ("GET", "/v1/buckets/{b}/objects?prefix=x&prefix=k&limit=1", "prefix"),
        ("GET", "/v1/access-keys?limit=5&limit=500", "limit"),
    ],
)
def test_an_unknown_or_repeated_query_parameter_is_refused(
    gateway: Gateway, s3: Any, bucket_with_object: str, method: str, path: str, field: str
) -> None:
    reply = api_json(gateway, method, path.format(b=bucket_with_object), headers=ADMIN, expect=400)
    assert reply["error"]["code"] == "ValidationError"
    assert reply["error"]["details"] == {"field": field}
    assert s3.get_object(Bucket=bucket_with_object, Key="k")["Body"].read() == b"kept"


def test_documented_parameters_still_work(
    gateway: Gateway, s3: Any, bucket_with_object: str
) -> None:
    page = api_json(gateway, "GET", f"/v1/buckets/{bucket_with_object}/objects?prefix=k&limit=1")
    assert [o["key"] for o in page["objects"]] == ["k"]
