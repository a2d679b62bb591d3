"""Upstream answers read off the wire by the lean client (``backends.s3.wire``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from backends.s3.wire import (
    _error_tree,
    _list_v2_tree,
    _plain_error,
    error_fields,
    list_v2_result,
    object_fields,
)

AWS_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
    b"<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
    b"<Contents><Key>a+b%2Bc%20d</Key><LastModified>2025-01-02T03:04:05.678Z</LastModified>"
    b"<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
    b"<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>12</Size>"
    b"<Owner><ID>o</ID><DisplayName>n</DisplayName></Owner>"
    b"<StorageClass>STANDARD</StorageClass></Contents>"
    b"<Contents><Key>%C3%A9%3C%26</Key><LastModified>2025-01-02T03:04:05.000Z</LastModified>"
    b"<ETag>&quot;0123456789abcdef0123456789abcdef-2&quot;</ETag><Size>0</Size>"
    b"<StorageClass>GLACIER</StorageClass></Contents>"
    b"<CommonPrefixes><Prefix>dir%2Fx+y/</Prefix></CommonPrefixes>"
    b"<NextContinuationToken>tok/en==</NextContinuationToken></ListBucketResult>"
)
SEAWEEDFS_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>'
    b"<Prefix></Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
    b"<Contents><Key>k &amp; &lt;1&gt;</Key><ETag>&#34;9dd4e461268c8034f5c8564e155c67a6&#34;</ETag>"
    b"<Size>1</Size><StorageClass>STANDARD</StorageClass>"
    b"<LastModified>2026-12-01T15:35:54Z</LastModified></Contents></ListBucketResult>"
)


def test_an_aws_page() -> None:
    page = list_v2_result(AWS_PAGE)
    assert page == {
        "Contents": [
            {
                "Key": "a b+c d",
                "ETag": '"0123456789abcdef0123456789abcdef"',
                "Size": 12,
                "LastModified": datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                "StorageClass": "STANDARD",
            },
            {
                "Key": "é<&",
                "ETag": '"0123456789abcdef0123456789abcdef-2"',
                "Size": 0,
                "LastModified": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
                "StorageClass": "GLACIER",
            },
        ],
        "CommonPrefixes": [{"Prefix": "dir/x y/"}],
        "IsTruncated": True,
        "NextContinuationToken": "tok/en==",
    }


def test_a_seaweedfs_page_without_url_encoding() -> None:
    page = list_v2_result(SEAWEEDFS_PAGE)
    assert page["Contents"] == [
        {
            "Key": "k & <1>",
            "ETag": '"9dd4e461268c8034f5c8564e155c67a6"',
            "Size": 1,
            "LastModified": datetime(2026, 12, 1, 15, 35, 54, tzinfo=UTC),
            "StorageClass": "STANDARD",
        }
    ]
    assert (page["CommonPrefixes"], page["IsTruncated"]) == ([], False)
    assert "NextContinuationToken" not in page


@pytest.mark.parametrize("body", [AWS_PAGE, SEAWEEDFS_PAGE])
def test_the_fast_reading_equals_the_tree_reading(body: bytes) -> None:
    assert list_v2_result(body) == _list_v2_tree(body)


def test_bodies_the_fast_reading_cannot_take_go_through_the_tree() -> None:
    prefixed = (
        b'<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<s3:IsTruncated>false</s3:IsTruncated><s3:Contents><s3:Key>p</s3:Key>"
        b"<s3:Size>3</s3:Size><s3:ETag>e</s3:ETag>"
        b"<s3:LastModified>2025-01-01T00:00:00Z</s3:LastModified></s3:Contents>"
        b"</s3:ListBucketResult>"
    )
    cdata = SEAWEEDFS_PAGE.replace(b"k &amp; &lt;1&gt;", b"<![CDATA[k & <1>]]>")
    assert [c["Key"] for c in list_v2_result(prefixed)["Contents"]] == ["p"]
    assert [c["Key"] for c in list_v2_result(cdata)["Contents"]] == ["k & <1>"]


def test_object_fields_from_headers() -> None:
    """From the lean client's answer headers (lower-case names, as ``Response`` keeps
    them)."""
    fields = object_fields(
        206,
        {
            "content-length": "10",
            "etag": '"abc"',
            "last-modified": "Wed, 01 Jan 2025 10:00:00 GMT",
            "content-range": "bytes 0-9/100",
            "x-amz-meta-colour": "blue",
            "x-amz-mp-parts-count": "3",
            "x-amz-tagging-count": "x",
            "expires": "not a date",
            "x-amz-checksum-crc32": "AAAAAA==",
            "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z",
            "server": "store",
        },
    )
    assert fields["ContentLength"] == 10
    assert fields["ETag"] == '"abc"'
    assert fields["LastModified"] == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert fields["ContentRange"] == "bytes 0-9/100"
    assert fields["Metadata"] == {"colour": "blue"}
    assert fields["PartsCount"] == 3
    assert "TagCount" not in fields  # not a number
    assert fields["ExpiresString"] == "not a date"
    assert fields["ChecksumCRC32"] == "AAAAAA=="
    assert fields["ObjectLockRetainUntilDate"] == datetime(2030, 1, 1, tzinfo=UTC)
    assert fields["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert "server" not in fields


def test_error_fields() -> None:
    body = (
        b"<Error><Code>InvalidRange</Code><Message>bad</Message>"
        b"<ActualObjectSize>7</ActualObjectSize></Error>"
    )
    assert error_fields(body) == (
        "InvalidRange",
        "bad",
        {"Code": "InvalidRange", "Message": "bad", "ActualObjectSize": "7"},
    )
    assert error_fields(b"") == ("", "", {})
    assert error_fields(b"<html>not xml") == ("", "", {})


MOTO_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n    <Code>NoSuchKey</Code>\n'
    b"    <Message>The specified key does not exist.</Message>\n    <Key>a b&amp;c</Key>\n"
    b"    <RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID>\n</Error>"
)
SEAWEEDFS_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message><Resource>/gw-b/k \xc3\xa9</Resource>"
    b"<RequestId>1765009999123456789</RequestId><Key>k \xc3\xa9</Key>"
    b"<BucketName>gw-b</BucketName></Error>"
)
AWS_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message><Key>dir/x+y</Key>"
    b"<RequestId>4442587FB7D0A2F9</RequestId><HostId>ab+c/d==</HostId></Error>"
)


def _tree_reading(body: bytes) -> tuple[str, str, dict[str, str]]:
    fields = _error_tree(body)
    return fields.get("Code", ""), fields.get("Message", ""), fields


@pytest.mark.parametrize("body", [MOTO_ERROR, SEAWEEDFS_ERROR, AWS_ERROR])
def test_a_store_s_error_document_is_read_plainly_as_lxml_reads_it(body: bytes) -> None:
    """The stores' 404 documents take the regular-expression reading (``_plain_error``),
    or go to lxml (an entity) - with lxml's fields either way."""
    assert error_fields(body) == _tree_reading(body)
    assert (_plain_error(body) is None) == (b"&amp;" in body)


_DECLARATIONS = [
    b"",
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="utf-8"?>',
    b'<?xml version="1.0"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b' <?xml version="1.0"?>',
    b"\xef\xbb\xbf",
]
_SPACES = [b"", b"", b"", b"", b" ", b"\n", b"\t", b"\r\n", b"\x0b"]
_NAMES = [b"Code", b"Message", b"Key", b"Code", b"s3:Key", b"x1", b"1x"]
_TEXTS = [
    *[b"a", b"NoSuchKey", b"k/x y+z", b"\xc3\xa9", b"\t"] * 4,  # plain text, mostly
    b"&amp;",
    b"&",
    b"<",
    b">",
    b"]",
    b"]]>",
    b"\r",
    b"\n",
    b"\x01",
    b"\x7f",
    b"\xef\xbf\xbe",
    b"\xff",
    b"<![CDATA[x]]>",
    b"<!--c-->",
    b"<b>x</b>",
    b" ",
]
_ROOTS = [(b"<Error>", b"</Error>")] * 4 + [
    (b'<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/">', b"</Error>"),
    (b"<Other>", b"</Other>"),
]


def _random_error_body(rng: random.Random) -> bytes:
    opening, closing = rng.choice(_ROOTS)
    body = rng.choice(_DECLARATIONS) + rng.choice(_SPACES) + opening
    for _ in range(rng.randrange(5)):
        name = rng.choice(_NAMES)
        text = b"".join(rng.choice(_TEXTS) for _ in range(rng.randrange(3)))
        closed = name if rng.random() < 0.95 else b"Other"
        body += rng.choice(_SPACES) + b"<" + name + b">" + text + b"</" + closed + b">"
    return body + rng.choice(_SPACES) + closing + rng.choice(_SPACES)


def test_the_plain_reading_of_errors_equals_lxml_s() -> None:
    """Thousands of error bodies built from the pieces that make XML differ from plain
    text (declarations, a BOM, entities, CR, forbidden characters, CDATA, comments,
    nested elements, namespaces, prefixes, bad UTF-8, mismatched tags): each reads as
    lxml reads it, and many took the regular expression."""
    rng = random.Random(17)
    plain = 0
    for _ in range(8000):
        body = _random_error_body(rng)
        assert error_fields(body) == _tree_reading(body), body
        plain += _plain_error(body) is not None
    assert plain > 300
