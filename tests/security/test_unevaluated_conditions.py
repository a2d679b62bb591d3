"""Class: a request condition the gateway does not evaluate must never be silently ignored.

DeleteObject used to ignore ``If-Match`` and DeleteObjects the ``<ETag>`` of its keys: a
client that asked "delete only if unchanged" had its object deleted whatever it had
become. Now every condition a delete can carry is either evaluated (``If-Match``, the
``<ETag>`` element) or refused with 501 ``NotImplemented`` naming it (the directory-bucket
conditions ``x-amz-if-match-size`` / ``x-amz-if-match-last-modified-time`` and the
``<Size>`` / ``<LastModifiedTime>`` elements, ``If-None-Match``, a condition with a version
id), and a refused request deletes nothing, not even the unconditioned keys beside it. The
s3 backend in front of a store not configured to decide conditional deletes refuses them
too instead of deleting unconditionally.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.upstream_server import start_moto
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.s3util import RawResponse, keys_of, raw_request, sign, unique

WRONG = '"0123456789abcdef0123456789abcdef"'


def _delete(gateway: Gateway, bucket: str, key: str, headers: dict[str, str]) -> RawResponse:
    path = f"/{bucket}/{key}"
    return raw_request(
        gateway, "DELETE", path, headers=sign(gateway, "DELETE", path, headers=headers)
    )


def _delete_objects(gateway: Gateway, bucket: str, objects: str) -> RawResponse:
    body = f"<Delete>{objects}</Delete>".encode()
    path = f"/{bucket}?delete"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    headers = sign(gateway, "POST", path, body=body, headers={"Content-MD5": md5})
    return raw_request(gateway, "POST", path, body=body, headers=headers)


DELETE_HEADERS = [
    ({"x-amz-if-match-size": "999"}, "x-amz-if-match-size"),
    ({"x-amz-if-match-size": "2"}, "x-amz-if-match-size"),  # even when it would hold
    (
        {"x-amz-if-match-last-modified-time": "Wed, 01 Jan 2025 00:00:00 GMT"},
        "x-amz-if-match-last-modified-time",
    ),
    ({"If-None-Match": "*"}, "If-None-Match"),
    ({"If-None-Match": WRONG}, "If-None-Match"),
    ({"If-Match": "*", "x-amz-if-match-size": "999"}, "x-amz-if-match-size"),
]


@pytest.mark.parametrize(("headers", "named"), DELETE_HEADERS)
def test_delete_conditions_not_evaluated_are_refused(
    gateway: Gateway, s3: Any, bucket: str, headers: dict[str, str], named: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"xy")
    answer = _delete(gateway, bucket, "k", headers)
    assert (answer.status, answer.error_code()) == (501, "NotImplemented"), answer
    assert answer.xml().findtext("Header") == named
    assert keys_of(s3, bucket) == ["k"]


def test_if_match_on_delete_is_evaluated(gateway: Gateway, s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"xy")["ETag"]
    answer = _delete(gateway, bucket, "k", {"If-Match": WRONG})
    assert (answer.status, answer.error_code()) == (412, "PreconditionFailed"), answer
    assert keys_of(s3, bucket) == ["k"]
    assert _delete(gateway, bucket, "k", {"If-Match": etag}).status == 204
    assert keys_of(s3, bucket) == []


def test_if_match_with_a_version_id_is_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = s3.put_object(Bucket=bucket, Key="k", Body=b"xy")
    path = f"/{bucket}/k?versionId={made['VersionId']}"
    headers = sign(gateway, "DELETE", path, headers={"If-Match": made["ETag"]})
    answer = raw_request(gateway, "DELETE", path, headers=headers)
    assert (answer.status, answer.error_code()) == (501, "NotImplemented"), answer
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [made["VersionId"]]
    assert "DeleteMarkers" not in versions


@pytest.mark.parametrize(
    ("element", "named"),
    [
        ("<Size>999</Size>", "Size"),
        ("<Size>2</Size>", "Size"),
        ("<LastModifiedTime>2025-01-01T00:00:00Z</LastModifiedTime>", "LastModifiedTime"),
        ("<ETag>*</ETag><Size>999</Size>", "Size"),
    ],
)
def test_delete_objects_elements_not_evaluated_refuse_the_whole_request(
    gateway: Gateway, s3: Any, bucket: str, element: str, named: str
) -> None:
    for key in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"xy")
    objects = f"<Object><Key>a</Key></Object><Object><Key>b</Key>{element}</Object>"
    answer = _delete_objects(gateway, bucket, objects)
    assert (answer.status, answer.error_code()) == (501, "NotImplemented"), answer
    assert answer.xml().findtext("Element") == named
    assert keys_of(s3, bucket) == ["a", "b"]


def test_delete_objects_etag_is_evaluated(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"xy")
    answer = _delete_objects(gateway, bucket, f"<Object><Key>a</Key><ETag>{WRONG}</ETag></Object>")
    assert answer.status == 200, answer
    assert answer.xml().findtext(".//{*}Error/{*}Code") == "PreconditionFailed"
    assert keys_of(s3, bucket) == ["a"]


# -- the s3 backend in front of a store that does not decide conditional deletes ----------


@pytest.fixture(scope="module")
def undecided_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The gateway in front of moto, configured to pass on PutObject's conditions only."""
    moto = start_moto()
    env = {
        "NFYIO_BACKEND": "s3",
        "NFYIO_UPSTREAM_ENDPOINT": moto.endpoint_url,
        "NFYIO_UPSTREAM_ACCESS_KEY_ID": "upstream-access-key",
        "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": "upstream-secret-key",
        "NFYIO_UPSTREAM_REGION": "us-east-1",
        "NFYIO_UPSTREAM_CONDITIONAL_WRITES": "PutObject",
    }
    data = Path(tmp_path_factory.mktemp("gw-undecided")) / "data"
    try:
        running = start_gateway(data, extra_env=env)
    except BaseException:
        moto.stop()
        raise
    yield running
    running.stop()
    moto.stop()


def test_a_store_that_does_not_decide_conditional_deletes_never_deletes(
    undecided_gateway: Gateway,
) -> None:
    gw = undecided_gateway
    s3 = gw.client()
    bucket = unique("undecided")
    s3.create_bucket(Bucket=bucket)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"xy")["ETag"]
    s3.put_object(Bucket=bucket, Key="plain", Body=b"xy")
    for if_match in (etag, WRONG, "*"):
        answer = _delete(gw, bucket, "k", {"If-Match": if_match})
        assert (answer.status, answer.error_code()) == (501, "NotImplemented"), answer
        assert answer.xml().findtext("Header") == "If-Match"
    objects = f"<Object><Key>plain</Key></Object><Object><Key>k</Key><ETag>{etag}</ETag></Object>"
    answer = _delete_objects(gw, bucket, objects)
    assert (answer.status, answer.error_code()) == (501, "NotImplemented"), answer
    assert keys_of(s3, bucket) == ["k", "plain"]
