"""Class: a ``%`` in the request target that starts no percent escape is refused.

S3 refuses a request whose path or query holds a broken escape (``%zz``, ``%2``, a
trailing ``%``) with a 400 before anything else. The gateway decoded leniently, which
leaves such a ``%`` as it is: ``/b/a%zz`` named the key ``a%zz``, the key ``/b/a%25zz``
names, and ``?prefix=a%zz`` the prefix ``a%25zz`` gives. Both are now 400 ``InvalidURI``
"Couldn't parse the specified URI." (``sigv4.request.bad_escape``, read by the path's
decoding in ``gateway.s3.addressing`` and the query's in ``sigv4.decode_query``), for
signed, presigned and anonymous requests alike. A ``%`` sent as ``%25`` works as before.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize("raw_key", ["a%zz", "a%2", "a%", "a%%41", "%g0/b"])
def test_a_broken_escape_in_the_path_is_refused(
    gateway: Gateway, s3: Any, bucket: str, raw_key: str
) -> None:
    path = f"/{bucket}/{raw_key}"
    for headers in (sign(gateway, "PUT", path, body=b"x"), {}):
        response = raw_request(gateway, "PUT", path, body=b"x", headers=headers)
        assert (response.status, response.error_code()) == (400, "InvalidURI")
        assert response.xml().findtext("Message") == "Couldn't parse the specified URI."
    response = raw_request(
        gateway, "GET", f"/{raw_key}", headers=sign(gateway, "GET", f"/{raw_key}")
    )
    assert (response.status, response.error_code()) == (400, "InvalidURI")
    assert _keys(s3, bucket) == []


def test_a_percent_sent_as_25_names_the_key_with_a_percent(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a%zz", Body=b"pct")
    s3.put_object(Bucket=bucket, Key="100% sure/%41", Body=b"more")
    assert _keys(s3, bucket) == ["100% sure/%41", "a%zz"]
    assert s3.get_object(Bucket=bucket, Key="a%zz")["Body"].read() == b"pct"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a%zz"})
    assert "/a%25zz?" in url
    with urllib.request.urlopen(url) as reply:
        assert reply.read() == b"pct"
    page = s3.list_objects_v2(Bucket=bucket, Prefix="100%")
    assert [o["Key"] for o in page["Contents"]] == ["100% sure/%41"]


def test_a_presigned_url_with_a_broken_escape_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a%zz", Body=b"pct")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a%zz"})
    target = url.split(str(gateway.s3_port), 1)[1]
    for broken in (target.replace("%25zz", "%zz"), target + "&x-id=%zz"):
        response = raw_request(gateway, "GET", broken)
        assert (response.status, response.error_code()) == (400, "InvalidURI")


@pytest.mark.parametrize("query", ["prefix=a%zz", "prefix=a%", "list-type=2&prefix=%2", "%zz=1"])
def test_a_broken_escape_in_the_query_is_refused(
    gateway: Gateway, s3: Any, bucket: str, query: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a%zz", Body=b"x")
    path = f"/{bucket}?{query}"
    response = raw_request(gateway, "GET", path, headers=sign(gateway, "GET", path))
    assert (response.status, response.error_code()) == (400, "InvalidURI")
