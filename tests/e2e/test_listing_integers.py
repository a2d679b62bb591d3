"""Page sizes of the listings are read as S3 reads an integer: ASCII digits (an optional
sign) within 32 bits. Python's ``int`` took ``" 5"``, ``"1_000"`` and a full-width
``"\\uff10"`` (which listed nothing), and ``max-keys`` past 2^31-1 was clamped to 1000
where AWS answers ``InvalidArgument``.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import S3_NS, raw_request, sign

REFUSED = [" 5", "5 ", "1_000", "\uff10", "5.0", "0x10", "2147483648", "99999999999999999999"]
READ = {"+7": "7", "0007": "7", "1001": "1000"}


def _get(gateway: Gateway, path: str) -> tuple[int, ET.Element]:
    response = raw_request(gateway, "GET", path, headers=sign(gateway, "GET", path))
    return response.status, ET.fromstring(response.body)


def test_page_sizes_are_ascii_32_bit_integers(gateway: Gateway) -> None:
    s3: Any = gateway.client()
    bucket = f"e2e-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    listings = [
        (f"/{bucket}?list-type=2&max-keys=", "MaxKeys"),
        (f"/{bucket}?max-keys=", "MaxKeys"),
        (f"/{bucket}?uploads&max-uploads=", "MaxUploads"),
    ]
    for base, element in listings:
        for value in REFUSED:
            status, error = _get(gateway, base + quote(value, safe=""))
            assert (status, error.findtext("Code")) == (400, "InvalidArgument"), (base, value)
        for value, read in READ.items():
            status, page = _get(gateway, base + quote(value, safe=""))
            assert status == 200, (base, value)
            assert page.findtext(f"{S3_NS}{element}") == read, (base, value)
    for value in REFUSED:
        status, error = _get(gateway, "/?max-buckets=" + quote(value, safe=""))
        assert (status, error.findtext("Code")) == (400, "InvalidArgument"), value
    status, page = _get(gateway, "/?max-buckets=%2B0001")
    assert status == 200
    assert len(page.findall(f"{S3_NS}Buckets/{S3_NS}Bucket")) == 1
