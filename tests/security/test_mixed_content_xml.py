"""Class: a text element of a request body is read as the whole of its text, or refused.

lxml's ``element.text`` is only the text before an element's first child. A body that
put an element inside a text element (``<Key>a<x/>b</Key>``) was read as ``a`` where the
document's text is ``ab``: DeleteObjects deleted another object than the one its body
names, PutObjectTagging stored another tag key, and ``<Key><x>ab</x></Key>`` read as the
empty key. No S3 schema has such elements: text beside elements anywhere in a document,
or an element inside one that holds text, is ``MalformedXML`` (``gateway.s3.xml``:
``parse_xml`` and ``leaf_text``), and nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


def _send(gw: Gateway, method: str, path: str, document: bytes) -> tuple[int, str | None]:
    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(document).digest()).decode()}
    headers = sign(gw, method, path, body=document, headers=md5)
    reply = raw_request(gw, method, path, body=document, headers=headers)
    return reply.status, reply.error_code()


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize(
    "key",
    [
        b"a<x/>b",  # text after a child: read as "a"
        b"a<x>b</x>",  # ... inside one
        b"<x/>ab",  # text after an empty first child: read as ""
        b"<x>ab</x>",  # no text of its own: read as the empty key
        b"a<![CDATA[]]><x/>b",
    ],
)
def test_delete_objects_key_holding_an_element_deletes_nothing(
    gateway: Gateway, s3: Any, bucket: str, key: bytes
) -> None:
    for name in ("a", "ab"):
        s3.put_object(Bucket=bucket, Key=name, Body=b"kept")
    document = b"<Delete><Object><Key>" + key + b"</Key></Object></Delete>"
    assert _send(gateway, "POST", f"/{bucket}?delete", document) == (400, "MalformedXML")
    assert _keys(s3, bucket) == ["a", "ab"]


def test_text_beside_elements_is_refused_where_no_text_is_read(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """Text between ``<Object>`` entries is no key, value or condition: still refused."""
    s3.put_object(Bucket=bucket, Key="a", Body=b"kept")
    document = b"<Delete><Object><Key>a</Key></Object>stray</Delete>"
    assert _send(gateway, "POST", f"/{bucket}?delete", document) == (400, "MalformedXML")
    assert _keys(s3, bucket) == ["a"]


def test_tagging_key_holding_an_element_keeps_the_old_tags(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="old=1")
    for tag in (b"<Key>a<x/>b</Key><Value>v</Value>", b"<Key>a</Key><Value><x>v</x></Value>"):
        document = b"<Tagging><TagSet><Tag>" + tag + b"</Tag></TagSet></Tagging>"
        assert _send(gateway, "PUT", f"/{bucket}/k?tagging", document) == (400, "MalformedXML")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "old", "Value": "1"}]


def test_completion_part_number_holding_an_element_completes_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """``<PartNumber>1<x/>0</PartNumber>`` read as part 1 of a list naming part 10."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    document = (
        b"<CompleteMultipartUpload><Part><PartNumber>1<x/>0</PartNumber><ETag>"
        + etag.encode()
        + b"</ETag></Part></CompleteMultipartUpload>"
    )
    path = f"/{bucket}/k?uploadId={upload}"
    assert _send(gateway, "POST", path, document) == (400, "MalformedXML")
    assert _keys(s3, bucket) == []
    assert [
        p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="k", UploadId=upload)["Parts"]
    ] == [1]


def test_blank_text_between_elements_is_no_text(gateway: Gateway, s3: Any, bucket: str) -> None:
    """Indentation (spaces, tabs, CR, LF) is XML whitespace, not mixed content."""
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    document = b"<Delete>\r\n\t<Object>\n  <Key>a</Key>\n </Object>\n</Delete>\n"
    status, _ = _send(gateway, "POST", f"/{bucket}?delete", document)
    assert status == 200
    assert _keys(s3, bucket) == []
