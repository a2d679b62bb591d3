"""Class: a request naming a subresource the gateway does not know must not act as the
object's or bucket's own operation.

S3 names most operations by a subresource in the query (``?tagging``, ``?annotation``)
on the same path and method as the plain ones. Routing ignores parameters it does not
know, as S3 does, so a subresource missing from the table routed the request to the plain
operation: PutObjectAnnotation overwrote the object with the annotation, a metadata
configuration's DELETE was a DeleteBucket, GetBucketAbac answered a listing. Every
subresource the gateway does not implement answers 501 (``gateway/s3/operations.py``:
``SUBRESOURCES`` and its NotImplemented rows), and one a newer SDK may send that the table
cannot know (a parameter without a value, as subresources are sent) is refused too
(``unknown_subresource``). The model test keeps the table complete for botocore's
model: an upgrade that adds a subresource or a query parameter fails here until it is
entered. The last test closes the sibling class: a query parameter of an implemented
operation that the gateway never reads (ListBuckets' ``bucket-region`` and
``max-buckets`` were answered with every bucket in one page).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore import xform_name
from botocore.model import Shape

from gateway.s3.operations import OPERATIONS, PARAMETERS, SUBRESOURCES, UNCONFIGURABLE
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import client_error, keys_of, raw_request, sign, unique
from tests.security.source_graph import read_by

MODEL = botocore.session.get_session().get_service_model("s3")

UNREACHABLE = {
    "WriteGetObjectResponse": "sent to an Object Lambda endpoint (host prefix), never here",
    "ListDirectoryBuckets": "GET / with no subresource: the same request as ListBuckets",
    "GetBucketLifecycle": "the deprecated name of GetBucketLifecycleConfiguration's request",
    "PutBucketLifecycle": "the deprecated name of PutBucketLifecycleConfiguration's request",
    "PutBucketNotification": "the deprecated name of PutBucketNotificationConfiguration's "
    "request (its document has the same root; only the empty one is accepted)",
}
"""botocore operations without a row of their own, and why no request of theirs can be
told apart here."""


def _query_names(uri: str) -> set[str]:
    _, _, query = uri.partition("?")
    return {entry.partition("=")[0] for entry in query.split("&") if entry}


def test_every_subresource_and_parameter_of_the_model_is_known() -> None:
    subresources: set[str] = set()
    parameters: set[str] = set()
    for name in MODEL.operation_names:
        operation = MODEL.operation_model(name)
        subresources |= _query_names(operation.http["requestUri"])
        shape = operation.input_shape
        for member in shape.members.values() if shape is not None else ():
            if member.serialization.get("location") == "querystring":
                parameters.add(member.serialization["name"])
    selectors = {"list-type", "select-type"}  # ``list-type=2``: chooses a form, has a value
    assert subresources - selectors - SUBRESOURCES == set(), "add to SUBRESOURCES"
    assert (selectors | parameters) - PARAMETERS - SUBRESOURCES == set(), "add to PARAMETERS"
    assert SUBRESOURCES.isdisjoint(PARAMETERS)


def _value(shape: Shape, bucket: str) -> Any:
    """A minimal valid value of a shape (required members only): the request a client
    would send, as far as routing is concerned."""
    kind = shape.type_name
    if kind == "structure" and shape.is_tagged_union:
        first = next(iter(shape.members))
        return {first: _member_value(first, shape.members[first], bucket)}
    if kind == "structure":
        return {
            member: _member_value(member, shape.members[member], bucket)
            for member in shape.required_members
        }
    if kind == "list":
        return [_value(shape.member, bucket)]
    if kind == "map":
        return {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "x" * shape.metadata.get("min", 1)
    if kind == "blob":
        return b"payload"
    if kind == "timestamp":
        return datetime.now(UTC)
    if kind == "boolean":
        return True
    return 1  # integer, long


def _member_value(name: str, shape: Shape, bucket: str) -> Any:
    if name == "Bucket":
        return bucket
    if name == "Key":
        return "k"
    return _value(shape, bucket)


NOT_IMPLEMENTED = sorted(
    set(MODEL.operation_names) - {op.name for op in OPERATIONS if op.implemented} - set(UNREACHABLE)
)


def _reads_an_unconfigurable_setting(name: str) -> bool:
    http = MODEL.operation_model(name).http
    return http["method"] == "GET" and bool(_query_names(http["requestUri"]) & set(UNCONFIGURABLE))


@pytest.mark.parametrize("name", NOT_IMPLEMENTED)
def test_an_operation_not_implemented_answers_501_and_changes_nothing(
    s3: Any, bucket: str, name: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    params = _value(MODEL.operation_model(name).input_shape, bucket)
    call = getattr(s3, xform_name(name))
    if _reads_an_unconfigurable_setting(name):
        # a setting no bucket here can hold is read as "not configured"
        # (tests/gateway/s3/test_unconfigured.py); it must not be a listing either
        try:
            answer = call(**params)
        except s3.exceptions.ClientError as refused:
            assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 404, refused.response
        else:
            assert "Contents" not in answer and "Name" not in answer, answer
    else:
        error = client_error(call, **params)
        assert error.response["Error"]["Code"] == "NotImplemented", (name, error.response)
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"
    assert keys_of(s3, bucket) == ["k"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _send(gateway: Gateway, method: str, path: str, body: bytes = b"") -> Any:
    return raw_request(
        gateway, method, path, body=body, headers=sign(gateway, method, path, body=body)
    )


@pytest.mark.parametrize(
    ("method", "where", "query"),
    [
        ("PUT", "object", "futureThing"),
        ("PUT", "object", "futureThing="),
        ("POST", "object", "futureThing"),
        ("DELETE", "object", "futureThing"),
        ("GET", "object", "futureThing"),
        ("PUT", "bucket", "futureThing"),
        ("DELETE", "bucket", "futureThing"),
        ("GET", "bucket", "futureThing&prefix=k"),
        ("DELETE", "bucket", f"{quote('future thing')}"),
    ],
)
def test_a_subresource_no_table_knows_is_refused(
    gateway: Gateway, s3: Any, method: str, where: str, query: str
) -> None:
    """What a newer SDK may send: an unknown parameter without a value, as subresources
    are sent, is refused before anything is done with the request."""
    empty = unique("sec")
    s3.create_bucket(Bucket=empty)  # an empty bucket: a DeleteBucket would succeed
    full = f"{empty}-o"
    s3.create_bucket(Bucket=full)
    s3.put_object(Bucket=full, Key="k", Body=b"original")
    path = f"/{full}/k?{query}" if where == "object" else f"/{empty}?{query}"
    response = _send(gateway, method, path, b"replacement" if method in ("PUT", "POST") else b"")
    assert response.status == 501, response.body
    assert b"<Code>NotImplemented</Code>" in response.body
    assert s3.get_object(Bucket=full, Key="k")["Body"].read() == b"original"
    assert keys_of(s3, full) == ["k"]
    assert s3.head_bucket(Bucket=empty)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        # a value: not a subresource, ignored as S3 ignores it
        ("/{bucket}/k?cachebuster=1700000000", 200, b"original"),
        # a header hoisted into the query by a presigner
        ("/{bucket}/k?x-amz-meta-empty=", 200, b"original"),
        ("/{bucket}/k?response-content-type=&partNumber=1", 206, b"original"),
        ("/{bucket}?prefix=&delimiter=&encoding-type=url&list-type=2", 200, b"<Key>k</Key>"),
        # a known parameter's own rule, not the unknown-subresource refusal
        ("/{bucket}/k?versionId=", 400, b"<Code>InvalidArgument</Code>"),
    ],
)
def test_parameters_that_name_no_subresource_are_served(
    gateway: Gateway, s3: Any, bucket: str, path: str, status: int, expected: bytes
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    response = _send(gateway, "GET", path.format(bucket=bucket))
    assert response.status == status, response.body
    assert expected in response.body


def test_every_parameter_botocore_sends_to_an_implemented_operation_is_read() -> None:
    """A parameter the gateway does not read is ignored, and the answer is a success for
    something else than asked (ListBuckets answered every region's buckets, in one page,
    to ``bucket-region`` and ``max-buckets``). So each must appear, quoted, in the code
    that serves the requests (the routing tables in operations.py do not count)."""
    implemented = {op.name for op in OPERATIONS if op.implemented}
    unread: dict[str, list[str]] = {}
    for name in sorted(implemented & set(MODEL.operation_names)):
        shape = MODEL.operation_model(name).input_shape
        for member in shape.members.values() if shape is not None else ():
            if member.serialization.get("location") != "querystring":
                continue
            parameter = member.serialization["name"]
            if not read_by(name, parameter):
                unread.setdefault(parameter, []).append(name)
    assert unread == {}, "query parameters botocore sends that the gateway never reads"
