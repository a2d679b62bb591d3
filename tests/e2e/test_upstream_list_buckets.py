"""ListBuckets through the s3 backend when the store pages its bucket list (AWS: an
account above the 10,000-bucket quota refuses unpaginated requests; a paginated one is
answered in pages of at most ``max-buckets`` with a ``ContinuationToken``) and names each
bucket's region (AWS sends ``BucketRegion`` to paginated requests only).

The store is scripted: ListBuckets answered in three pages, each bucket with its region;
what the gateway asked is kept so the test can tell paginated requests from others.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

BUCKETS = [(f"paged-{n:02d}", "eu-west-3" if n % 2 else "us-east-1") for n in range(7)]
PAGES = [BUCKETS[0:3], BUCKETS[3:6], BUCKETS[6:]]
ASKED: list[dict[str, list[str]]] = []


def _page(query: dict[str, list[str]]) -> bytes:
    token = query.get("continuation-token", ["0"])[0]
    index = int(token) if token.isdigit() else 0
    entries = b"".join(
        b"<Bucket><Name>%s</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate>"
        b"<BucketRegion>%s</BucketRegion></Bucket>" % (name.encode(), region.encode())
        for name, region in PAGES[index]
    )
    more = b"<ContinuationToken>%d</ContinuationToken>" % (index + 1)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Owner><ID>owner</ID></Owner><Buckets>%s</Buckets>%s</ListAllMyBucketsResult>"
        % (entries, more if index + 1 < len(PAGES) else b"")
    )


class _Store(ScriptedStore):
    def answer(self, request: StoreRequest) -> bool:
        if request.method == "GET" and request.path == "/":
            query = parse_qs(request.query, keep_blank_values=True)
            ASKED.append(query)
            body = _page(query)
            self.sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
        else:
            self.sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True


@pytest.fixture(scope="module")
def paged_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway_before(_Store, tmp_path_factory.mktemp("gw-paged") / "data") as (gateway, _):
        yield gateway


def test_every_page_of_the_stores_bucket_list_with_each_region(paged_store: Gateway) -> None:
    s3 = paged_store.client()
    ASKED.clear()
    listed = s3.list_buckets()
    assert [(b["Name"], b["BucketRegion"]) for b in listed["Buckets"]] == BUCKETS
    # every request was a paginated one (max-buckets), the later ones with the token
    # the page before ended with
    assert [q.get("max-buckets") for q in ASKED] == [["10000"]] * len(PAGES)
    assert [q.get("continuation-token") for q in ASKED] == [None, ["1"], ["2"]]
