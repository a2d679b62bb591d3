"""Names and values a client chose come back in responses: they must be validated as a
whole (no trailing newline slipping past ``$``), escaped in XML, and never split headers.

Raw HTTP against the real gateway, signed by botocore, so each request is exactly what
an attacker would send.
"""

from __future__ import annotations

import sqlite3
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.s3util import S3_NS, raw_request, sign

CONFIG = '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{}</CreateBucketConfiguration>'


ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "echoed")


def send(
    gw: Gateway, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    headers = sign(gw, method, path, body=body)
    response = raw_request(gw, method, path, body=body, headers=headers)
    return response.status, response.headers, response.body


def code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code") if body else None


def bucket_names(gw: Gateway) -> list[str]:
    return [b["Name"] for b in gw.client().list_buckets()["Buckets"]]


def test_a_bucket_name_with_a_trailing_newline_is_not_a_second_bucket(gw: Gateway) -> None:
    """Sent with the admin's Bearer credential (botocore will not sign such a name)."""
    name = f"private-hr-{uuid.uuid4().hex[:8]}"
    gw.client().create_bucket(Bucket=name)
    for suffix in ("%0A", "%0D%0A", "%0a"):
        for path in (f"/{name}{suffix}", f"/{name}{suffix}/object"):
            response = raw_request(gw, "PUT", path, headers=ADMIN)
            assert response.status == 400, response.body
            assert response.error_code() == "InvalidBucketName"
    assert [n for n in bucket_names(gw) if n.startswith(name)] == [name]


@pytest.mark.parametrize(
    "constraint",
    [
        "eu-west-1</LocationConstraint><Injected>1</Injected><LocationConstraint>",
        "eu\r\nX-Injected: 1",
        "eu-west-1 x",
        "EU-WEST-1",
        "e" * 300,
        "../../etc",
    ],
)
def test_location_constraint_must_look_like_a_region(gw: Gateway, constraint: str) -> None:
    name = f"loc-{uuid.uuid4().hex[:12]}"
    document = CONFIG.format(f"<LocationConstraint>{escape(constraint)}</LocationConstraint>")
    status, _, body = send(gw, "PUT", f"/{name}", document.encode())
    assert (status, code(body)) == (400, "InvalidLocationConstraint"), body
    assert name not in bucket_names(gw)


def test_create_bucket_configuration_members_are_checked(gw: Gateway) -> None:
    name = f"loc-{uuid.uuid4().hex[:12]}"
    twice = "<LocationConstraint>eu-west-1</LocationConstraint>" * 2
    for inner, expected in (
        (twice, "MalformedXML"),
        ("<Unknown>1</Unknown>", "MalformedXML"),
        ("<LocationConstraint><a>eu-west-1</a></LocationConstraint>", "MalformedXML"),
        ("<Location><Type>AvailabilityZone</Type></Location>", "NotImplemented"),
    ):
        status, _, body = send(gw, "PUT", f"/{name}", CONFIG.format(inner).encode())
        assert code(body) == expected, body
        assert status in (400, 501)
    assert name not in bucket_names(gw)


def test_a_valid_region_round_trips(gw: Gateway) -> None:
    name = f"loc-{uuid.uuid4().hex[:12]}"
    document = CONFIG.format("<LocationConstraint>ap-southeast-2</LocationConstraint>")
    assert send(gw, "PUT", f"/{name}", document.encode())[0] == 200
    status, headers, _ = send(gw, "HEAD", f"/{name}")
    assert (status, headers.get("x-amz-bucket-region")) == (200, "ap-southeast-2")
    status, _, body = send(gw, "GET", f"/{name}?location")
    assert status == 200
    assert ET.fromstring(body).text == "ap-southeast-2"


def test_a_stored_bad_region_is_escaped_and_never_splits_headers(gw: Gateway) -> None:
    """A region stored before validation existed (here written straight into the
    metadata database): GetBucketLocation escapes it, HeadBucket leaves it out."""
    name = f"legacy-{uuid.uuid4().hex[:10]}"
    gw.client().create_bucket(Bucket=name)
    evil = 'eu-west-1\r\nX-Injected: 1</LocationConstraint><Injected a="1"/><LocationConstraint>'
    db = sqlite3.connect(gw.data_dir / "storage" / "meta" / "meta.sqlite3", timeout=10)
    with db:
        db.execute("UPDATE buckets SET region = ? WHERE name = ?", (evil, name))
    db.close()

    status, headers, _ = send(gw, "HEAD", f"/{name}")
    assert status == 200
    assert not any(h.lower() == "x-injected" for h in headers)
    assert "\n" not in headers.get("x-amz-bucket-region", "")

    status, headers, body = send(gw, "GET", f"/{name}?location")
    assert status == 200
    root = ET.fromstring(body)  # well-formed: the value did not close the element
    assert root.tag == f"{S3_NS}LocationConstraint"
    assert len(root) == 0
    assert root.text is not None and "Injected" in root.text
    assert not any(h.lower() == "x-injected" for h in headers)

    # ListBuckets escapes it too and the connection still serves the next request
    listing = ET.fromstring(send(gw, "GET", "/")[2])
    regions = [b.findtext(f"{S3_NS}BucketRegion") for b in listing.iter(f"{S3_NS}Bucket")]
    assert any(r and "Injected" in r for r in regions)
    with sqlite3.connect(gw.data_dir / "storage" / "meta" / "meta.sqlite3", timeout=10) as db:
        db.execute("UPDATE buckets SET region = 'us-east-1' WHERE name = ?", (name,))
