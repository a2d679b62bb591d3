"""Class 3: ``+`` in a signed query is read one way, by the signature check and by routing.

S3 form-decodes its query: a raw ``+`` is a space (the Rust object_store crate sends
``prefix=a+b`` for ``a b`` and signs ``a%20b``), ``%2B`` a plus. When the canonical query
read ``+`` as a plus and routing as a space, a presigned ListObjectsV2 signed with
``prefix=a%2Bb`` could be replayed as ``prefix=a+b`` and list ``a b/...``. Both now read it
as a space through ``sigv4.decode_query`` and ``sigv4.canonical_query``, so the replay is
a different canonical request and fails its signature.

The same class: a parameter named twice (``versionId=a&versionId=b``, or ``versionId``
beside ``version%49d``). The canonical query signs both values; routing took the first,
a cache or proxy in front may take the last. Before, GetObject served the first version
and a listing used the first prefix; now any repeated name is 400 ``InvalidArgument``
naming it, before anything is read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
ROOT = Path(__file__).resolve().parents[2]


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _keys(root: Any) -> list[str]:
    """Keys of a listing; boto3 asks for ``encoding-type=url``, so they come encoded."""
    return [unquote(e.text or "") for e in root.iter(f"{S3_NS}Key")]


def test_presigned_listing_replayed_with_a_plus_lists_the_same_keys(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    for key in ("a+b/signed-for", "a b/not-signed-for"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket, "Prefix": "a+b"})
    target = _target(url)
    assert "prefix=a%2Bb" in target
    signed = raw_request(gateway, "GET", target)
    assert signed.status == 200, signed.body
    expected = _keys(signed.xml())
    assert expected == ["a+b/signed-for"]

    replayed = raw_request(gateway, "GET", target.replace("prefix=a%2Bb", "prefix=a+b"))
    assert replayed.status == 403, replayed.body  # signed for a plus, sent with a space


def test_presigned_response_override_keeps_its_plus(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    disposition = "attachment; filename=a+b.txt"
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "doc", "ResponseContentDisposition": disposition},
    )
    target = _target(url)
    assert "a%2Bb.txt" in target
    kept = raw_request(gateway, "GET", target)
    assert kept.status == 200 and kept.headers["Content-Disposition"] == disposition
    replayed = raw_request(gateway, "GET", target.replace("a%2Bb.txt", "a+b.txt"))
    assert replayed.status == 403, replayed.body


def test_s3_listener_reads_the_query_one_way() -> None:
    """The audit as a test: nothing that reads a request on the S3 listener decodes the
    query but ``sigv4.request.decode_query_component`` (no parse_qs, parse_qsl, other
    unquote_plus or aiohttp's ``request.query``), the reading the canonical query matches."""
    forbidden = re.compile(
        r"parse_qsl?\(|unquote_plus|\.rel_url\.query|request\.query\b|\.query_string\b"
    )
    the_one_reader = {
        ("sigv4/request.py", "from urllib.parse import unquote_plus"),
        ("sigv4/request.py", 'return unquote_plus(raw, errors="strict")'),
    }
    offenders = []
    # backends/ is left out: the s3 backend decodes an upstream store's encoding-type=url
    # listings, where S3 writes a space as "+" (botocore uses unquote_plus there too).
    # gateway/s3/tags.py reads the x-amz-tagging *header*, a form-encoded tag set (where
    # "+" is a space, docs/lifecycle.md), never the request's query.
    form_encoded_header = {"gateway/s3/tags.py"}
    for package in ("sigv4", "gateway/s3"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in form_encoded_header:
                continue
            name = str(path.relative_to(ROOT))
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if forbidden.search(line) and (name, line.strip()) not in the_one_reader:
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    "query",
    [
        "versionId={v1}&versionId={v2}",
        "versionId={v1}&version%49d={v2}",  # the same name, percent-encoded
        "versionId={v1}&versionId={v1}",
        "partNumber=1&partNumber=1",
    ],
)
def test_a_query_parameter_named_twice_is_refused(
    gateway: Gateway, s3: Any, bucket: str, query: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="v", Body=b"v2")["VersionId"]
    target = f"/{bucket}/v?{query.format(v1=v1, v2=v2)}"
    response = raw_request(gateway, "GET", target, headers=sign(gateway, "GET", target))
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") in ("versionId", "partNumber")


def test_a_listing_with_two_prefixes_is_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    for key in ("p/1", "q/2"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    target = f"/{bucket}?list-type=2&prefix=p&prefix=q"
    response = raw_request(gateway, "GET", target, headers=sign(gateway, "GET", target))
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    assert response.xml().findtext("ArgumentName") == "prefix"


def test_a_presigned_parameter_repeated_after_signing_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    target = _target(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc"})
    )
    assert raw_request(gateway, "GET", target).status == 200
    for extra in (
        "&X-Amz-Expires=604800",
        "&response-content-type=text/html&response-content-type=a",
    ):
        response = raw_request(gateway, "GET", target + extra)
        assert (response.status, response.error_code()) == (400, "InvalidArgument"), extra
