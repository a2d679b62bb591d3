"""``meta.object_info`` remembers what it read (a proxied HEAD or GET of an object read
before): the remembered ``ObjectInfo`` must be exactly what reading the answer again gives,
and the memo must stay bounded whatever a store sends."""

from __future__ import annotations

import pytest

from backends.s3 import meta
from backends.s3.meta import object_info
from backends.types import ObjectInfo

ANSWER = {
    "accept-ranges": "bytes",
    "content-length": "4096",
    "content-type": "text/plain; charset=utf-8",
    "etag": '"20439f79e4e9dc95be34b21029221f80"',
    "last-modified": "Thu, 03 Dec 2026 17:09:08 GMT",
    "server": "SeaweedFS 8000GB 4.48",
    "x-amz-meta-owner": "ana",
    "x-amz-meta-nfyio-checksum-crc32": "AAAAAA==",
    "x-amz-request-id": "18EDCD7994348C98B7FF8E03",
    "date": "Thu, 03 Dec 2026 17:09:08 GMT",
}
# Two values each reading gives differently, for every header the reading reads.
_VALUES = {
    "last-modified": ("Thu, 03 Dec 2026 17:09:08 GMT", "Thu, 03 Dec 2026 17:09:09 GMT"),
    "x-amz-object-lock-retain-until-date": ("2099-01-01T00:00:00.000Z", "2099-01-02T00:00:00Z"),
    "x-amz-object-lock-mode": ("GOVERNANCE", "COMPLIANCE"),
    "x-amz-object-lock-legal-hold": ("ON", "OFF"),
    "x-amz-mp-parts-count": ("2", "3"),
    "x-amz-tagging-count": ("1", "2"),
    "etag": ('"aa"', '"aa-2"'),
}
READ = [
    *meta._ANSWER_HEADERS,
    "x-amz-meta-owner",
    "x-amz-meta-nfyio-checksum-sha256",
    "x-amz-meta-nfyio-missing-meta",
    "x-amz-meta-nfyio-other",
]


@pytest.fixture(autouse=True)
def _empty_memo() -> None:
    meta._infos.clear()
    meta._seen.clear()


def _kept(bucket: str, key: str, headers: dict[str, str], size: int) -> ObjectInfo:
    """``object_info`` of an answer read twice: the second read remembers it."""
    object_info(bucket, key, headers, size)
    return object_info(bucket, key, headers, size)


def _fresh(headers: dict[str, str], size: int = 4096) -> object:
    return meta._read("b", "k", headers, size)[0]


@pytest.mark.parametrize("name", READ)
def test_an_answer_that_differs_in_a_header_the_reading_reads_is_read_again(name: str) -> None:
    first, second = _VALUES.get(name, ("1", "2"))
    base = {**ANSWER, "x-amz-object-lock-mode": "GOVERNANCE", name: first}
    changed = {**base, name: second}
    assert object_info("b", "k", base, 4096) == _fresh(base)
    assert object_info("b", "k", base, 4096) is object_info("b", "k", base, 4096)
    assert object_info("b", "k", changed, 4096) == _fresh(changed)
    assert object_info("b", "k", base, 4096) == _fresh(base)


def test_bucket_key_and_size_are_part_of_what_is_remembered() -> None:
    info = _kept("b", "k", ANSWER, 4096)
    assert object_info("b", "k", ANSWER, 10).size == 10
    assert object_info("b", "k2", ANSWER, 4096).key == "k2"
    assert object_info("b2", "k", ANSWER, 4096).bucket == "b2"
    assert object_info("b", "k", ANSWER, 4096) is info


def test_what_differs_on_every_answer_is_not_part_of_the_key() -> None:
    info = _kept("b", "k", ANSWER, 4096)
    again = {**ANSWER, "date": "Fri, 04 Dec 2026 00:00:00 GMT", "x-amz-request-id": "other"}
    assert object_info("b", "k", {**again, "x-amz-id-2": "abc"}, 4096) is info
    assert info == _fresh(again)


def test_an_answer_without_a_readable_date_is_not_remembered() -> None:
    for headers in (
        {k: v for k, v in ANSWER.items() if k != "last-modified"},
        {**ANSWER, "last-modified": "not a date"},
    ):
        info = _kept("b", "k", headers, 4096)
        assert info.etag == "20439f79e4e9dc95be34b21029221f80"
    assert not meta._infos


def test_the_memo_stays_bounded() -> None:
    for i in range(meta._INFOS_MAX * 2 + 5):
        _kept("b", f"k{i}", ANSWER, 4096)
        assert len(meta._infos) <= meta._INFOS_MAX
        assert len(meta._seen) <= meta._INFOS_MAX
    huge = {**ANSWER, "x-amz-meta-big": "x" * meta._INFO_KEY_MAX}
    meta._infos.clear()
    assert _kept("b", "k", huge, 4096).meta.user_metadata["big"] == "x" * meta._INFO_KEY_MAX
    assert not meta._infos


def test_an_answer_is_remembered_on_its_second_read_lately() -> None:
    first = object_info("b", "k", ANSWER, 4096)
    assert not meta._infos  # read once: only its key's hash is kept
    assert first == _fresh(ANSWER)
    second = object_info("b", "k", ANSWER, 4096)
    assert second == first and second is not first
    assert object_info("b", "k", ANSWER, 4096) is second
    # an object read again only after more other reads than the memo holds is not
    for i in range(meta._INFOS_MAX):
        object_info("b", f"other{i}", ANSWER, 4096)
    again = object_info("b", "k2", ANSWER, 4096)
    for i in range(meta._INFOS_MAX):
        object_info("b", f"more{i}", ANSWER, 4096)
    assert not meta._infos.keys() - {("b", "k", 4096, ANSWER["etag"], ANSWER["last-modified"])}
    assert object_info("b", "k2", ANSWER, 4096) is not again
    assert ("b", "k2", 4096, ANSWER["etag"], ANSWER["last-modified"]) not in meta._infos
