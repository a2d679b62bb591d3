"""Listing through boto3: V1, V2, versions, encoding, byte order, owners and ACLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest

from tests.e2e.s3util import expect_error


def put_keys(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")


TREE = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "other/4", "z"]


@pytest.fixture
def tree(s3: Any, bucket: str) -> str:
    put_keys(s3, bucket, TREE)
    return bucket


def test_v2_plain_and_prefix(s3: Any, tree: str) -> None:
    page = s3.list_objects_v2(Bucket=tree)
    assert [o["Key"] for o in page["Contents"]] == TREE
    assert page["KeyCount"] == len(TREE)
    assert page["IsTruncated"] is False
    first = page["Contents"][0]
    assert first["Size"] == 1
    assert first["ETag"].startswith('"')
    assert first["StorageClass"] == "STANDARD"
    assert "Owner" not in first
    page = s3.list_objects_v2(Bucket=tree, Prefix="dir/")
    assert [o["Key"] for o in page["Contents"]] == ["dir/1", "dir/2", "dir/sub/3"]
    assert page["Prefix"] == "dir/"
    assert s3.list_objects_v2(Bucket=tree, Prefix="nope")["KeyCount"] == 0


def test_listings_show_each_object_s_storage_class(s3: Any, bucket: str) -> None:
    """The class a PUT named, in V1, V2 and version listings alike (the s3 backend once
    listed every object as STANDARD, though the store listed the class)."""
    s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="std", Body=b"x")
    expected = {"ia": "STANDARD_IA", "std": "STANDARD"}
    v2 = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"]: o["StorageClass"] for o in v2} == expected
    v1 = s3.list_objects(Bucket=bucket)["Contents"]
    assert {o["Key"]: o["StorageClass"] for o in v1} == expected
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert {v["Key"]: v["StorageClass"] for v in versions} == expected


@pytest.mark.parametrize("version", [1, 2])
def test_paging_lists_each_key_once_whatever_the_store_s_order(
    s3: Any, bucket: str, version: int
) -> None:
    """Pages of 3 over keys where ``.`` (below ``/``) follows a folder's name: SeaweedFS
    lists ``photos/1``, ``photos/2``, ``photos.zip`` (path order), and a next page that
    resumed after the greatest key of the page, ``photos/2``, listed ``photos.zip``
    twice. Every key once, on every backend (the order is the store's, see
    docs/upstream-backend.md)."""
    keys = ["photos.zip", "photos/1", "photos/2", "z"]
    put_keys(s3, bucket, keys)
    listed: list[str] = []
    params: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 3}
    for _ in range(5):
        if version == 2:
            page = s3.list_objects_v2(**params)
            params["ContinuationToken"] = page.get("NextContinuationToken")
        else:
            page = s3.list_objects(**params)
            params["Marker"] = page.get("NextMarker") or page["Contents"][-1]["Key"]
        listed += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
    assert sorted(listed) == keys


def test_v2_delimiter(s3: Any, tree: str) -> None:
    page = s3.list_objects_v2(Bucket=tree, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "other/"]
    assert page["KeyCount"] == 4
    page = s3.list_objects_v2(Bucket=tree, Delimiter="/", Prefix="dir/")
    assert [o["Key"] for o in page["Contents"]] == ["dir/1", "dir/2"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/sub/"]


def test_v2_non_slash_delimiter(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ["2024-01-a", "2024-01-b", "2024-02-a", "2025", "x-y-z"])
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="-")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["2024-", "x-"]
    assert [o["Key"] for o in page["Contents"]] == ["2025"]
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="-", Prefix="2024-")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["2024-01-", "2024-02-"]
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="01")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["2024-01"]


def test_v2_max_keys_and_paginator(s3: Any, bucket: str) -> None:
    keys = [f"k{i:03d}" for i in range(25)]
    put_keys(s3, bucket, keys)
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=10)
    assert page["KeyCount"] == 10
    assert page["IsTruncated"] is True
    assert page["NextContinuationToken"]
    second = s3.list_objects_v2(
        Bucket=bucket, MaxKeys=10, ContinuationToken=page["NextContinuationToken"]
    )
    assert second["ContinuationToken"] == page["NextContinuationToken"]
    assert [o["Key"] for o in second["Contents"]] == keys[10:20]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 7}
        )
    )
    assert len(pages) == 4
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys
    zero = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert zero["KeyCount"] == 0
    assert "Contents" not in zero


def test_v2_common_prefixes_count_toward_max_keys(s3: Any, bucket: str) -> None:
    put_keys(s3, bucket, ["a/1", "a/2", "b", "c/1", "c/2", "c/3", "d", "e/1"])
    seen_keys: list[str] = []
    seen_prefixes: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
    )
    count = 0
    for page in pages:
        count += 1
        entries = len(page.get("Contents", [])) + len(page.get("CommonPrefixes", []))
        assert entries == page["KeyCount"] <= 2
        seen_keys += [o["Key"] for o in page.get("Contents", [])]
        seen_prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen_keys == ["b", "d"]
    assert seen_prefixes == ["a/", "c/", "e/"]
    assert count == 3


def test_v2_start_after(s3: Any, tree: str) -> None:
    page = s3.list_objects_v2(Bucket=tree, StartAfter="dir/2")
    assert [o["Key"] for o in page["Contents"]] == ["dir/sub/3", "other/4", "z"]
    assert page["StartAfter"] == "dir/2"
    page = s3.list_objects_v2(Bucket=tree, StartAfter="dir/", Delimiter="/")
    assert [p["Prefix"] for p in page.get("CommonPrefixes", [])] == ["other/"]
    assert [o["Key"] for o in page["Contents"]] == ["z"]
    page = s3.list_objects_v2(Bucket=tree, StartAfter="zzz")
    assert page["KeyCount"] == 0


def test_start_after_inside_a_group_skips_it_on_every_backend(s3: Any, tree: str) -> None:
    """A page holds the entries after the marker; ``dir/`` sorts before ``dir/1``, so a
    marker inside the group skips it (what the filesystem backend and moto answer; the s3
    backend over SeaweedFS listed ``dir/`` again)."""
    for marker in ("dir/1", "dir/sub/", "dir/sub/3"):
        page = s3.list_objects_v2(Bucket=tree, StartAfter=marker, Delimiter="/")
        assert [p["Prefix"] for p in page.get("CommonPrefixes", [])] == ["other/"], marker
        assert [o["Key"] for o in page["Contents"]] == ["z"], marker
        v1 = s3.list_objects(Bucket=tree, Marker=marker, Delimiter="/")
        assert [p["Prefix"] for p in v1.get("CommonPrefixes", [])] == ["other/"], marker
    page = s3.list_objects_v2(Bucket=tree, StartAfter="dir/sub/3", Prefix="dir/", Delimiter="/")
    assert page["KeyCount"] == 0


def test_v2_fetch_owner_matches_acl_owner(s3: Any, tree: str) -> None:
    page = s3.list_objects_v2(Bucket=tree, FetchOwner=True)
    owner = page["Contents"][0]["Owner"]
    assert owner["ID"]
    assert s3.list_buckets()["Owner"]["ID"] == owner["ID"]
    v1 = s3.list_objects(Bucket=tree)
    assert all(o["Owner"]["ID"] == owner["ID"] for o in v1["Contents"])
    bucket_acl = s3.get_bucket_acl(Bucket=tree)
    object_acl = s3.get_object_acl(Bucket=tree, Key="z")
    for acl in (bucket_acl, object_acl):
        assert acl["Owner"]["ID"] == owner["ID"]
        assert len(acl["Grants"]) == 1
        grant = acl["Grants"][0]
        assert grant["Permission"] == "FULL_CONTROL"
        assert grant["Grantee"]["ID"] == owner["ID"]
        assert grant["Grantee"]["Type"] == "CanonicalUser"
    expect_error("NoSuchKey", 404, s3.get_object_acl, Bucket=tree, Key="missing")


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _grants(acl: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (g["Grantee"].get("ID") or g["Grantee"].get("URI", ""), g["Permission"])
        for g in acl["Grants"]
    ]


def test_put_acls(s3: Any, tree: str) -> None:
    owner = s3.get_bucket_acl(Bucket=tree)["Owner"]["ID"]
    assert (
        s3.put_bucket_acl(Bucket=tree, ACL="private")["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    s3.put_object_acl(Bucket=tree, Key="z", ACL="private")
    public = [(owner, "FULL_CONTROL"), (ALL_USERS, "READ")]
    s3.put_bucket_acl(Bucket=tree, ACL="public-read")
    assert _grants(s3.get_bucket_acl(Bucket=tree)) == public
    s3.put_object_acl(Bucket=tree, Key="z", ACL="public-read")
    assert _grants(s3.get_object_acl(Bucket=tree, Key="z")) == public
    s3.put_object(Bucket=tree, Key="pub", Body=b"x", ACL="public-read")
    assert _grants(s3.get_object_acl(Bucket=tree, Key="pub")) == public
    s3.put_object(Bucket=tree, Key="priv", Body=b"x", ACL="private")
    assert _grants(s3.get_object_acl(Bucket=tree, Key="priv")) == [(owner, "FULL_CONTROL")]
    s3.put_bucket_acl(Bucket=tree, ACL="private")
    assert _grants(s3.get_bucket_acl(Bucket=tree)) == [(owner, "FULL_CONTROL")]


def test_v2_url_encoding(s3: Any, bucket: str) -> None:
    keys = ["a b/c", "ctl\x01key", "tab\tkey", "plus+key", "ünï/ç", "amp&<lt>"]
    put_keys(s3, bucket, keys)
    # Without EncodingType boto3 asks for encoding-type=url itself and decodes the answer.
    page = s3.list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in page["Contents"]) == sorted(keys)
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in page["CommonPrefixes"]) == ["a b/", "ünï/"]
    page = s3.list_objects_v2(Bucket=bucket, Prefix="a b/", StartAfter="a b/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["a b/c"]
    assert page["Prefix"] == "a b/"
    assert page["StartAfter"] == "a b/"
    assert page["Delimiter"] == "/"
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", Marker="a")
    assert "ctl\x01key" in [o["Key"] for o in v1["Contents"]]
    assert v1["Marker"] == "a"
    # Asked for explicitly, boto3 hands back the encoded values untouched.
    page = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    assert page["EncodingType"] == "url"
    raw = [o["Key"] for o in page["Contents"]]
    assert all(k.isascii() and k.isprintable() and " " not in k for k in raw)
    assert sorted(unquote_plus(k) for k in raw) == sorted(keys)
    assert "plus%2Bkey" in raw


def test_utf8_byte_order(s3: Any, bucket: str) -> None:
    # UTF-16 order would put U+FF5E before U+1F600; UTF-8 byte order does the reverse.
    keys = ["\uff5e", "\U0001f600", "Z", "a", "\u00e9", "\x7f", "~"]
    put_keys(s3, bucket, keys)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))
    paged = [
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}
        )
        for o in p["Contents"]
    ]
    assert paged == listed


def test_v1_marker_and_next_marker(s3: Any, tree: str) -> None:
    page = s3.list_objects(Bucket=tree, MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a.txt", "dir/1"]
    assert page["IsTruncated"] is True
    assert "NextMarker" not in page  # only with a delimiter
    page = s3.list_objects(Bucket=tree, Marker="dir/1", MaxKeys=2)
    assert page["Marker"] == "dir/1"
    assert [o["Key"] for o in page["Contents"]] == ["dir/2", "dir/sub/3"]
    page = s3.list_objects(Bucket=tree, Delimiter="/", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/"]
    assert page["IsTruncated"] is True
    assert page["NextMarker"] == "dir/"
    page = s3.list_objects(Bucket=tree, Delimiter="/", Marker=page["NextMarker"])
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["other/"]
    assert [o["Key"] for o in page["Contents"]] == ["z"]


def test_v1_paginator(s3: Any, tree: str) -> None:
    pages = list(
        s3.get_paginator("list_objects").paginate(Bucket=tree, PaginationConfig={"PageSize": 4})
    )
    assert [o["Key"] for p in pages for o in p["Contents"]] == TREE
    pages = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=tree, Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == ["a.txt", "z"]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert prefixes == ["dir/", "other/"]


def test_list_object_versions(s3: Any, tree: str) -> None:
    s3.put_object(Bucket=tree, Key="z", Body=b"overwritten")
    answer = s3.list_object_versions(Bucket=tree)
    versions = answer["Versions"]
    assert [v["Key"] for v in versions] == TREE
    assert all(v["VersionId"] == "null" and v["IsLatest"] for v in versions)
    assert versions[-1]["Size"] == len(b"overwritten")
    assert "DeleteMarkers" not in answer
    pages = list(
        s3.get_paginator("list_object_versions").paginate(
            Bucket=tree, PaginationConfig={"PageSize": 4}
        )
    )
    assert len(pages) == 2
    assert pages[0]["NextKeyMarker"] == "dir/sub/3"
    assert pages[0]["NextVersionIdMarker"] == "null"
    assert [v["Key"] for p in pages for v in p["Versions"]] == TREE
    delimited = s3.list_object_versions(Bucket=tree, Delimiter="/")
    assert [p["Prefix"] for p in delimited["CommonPrefixes"]] == ["dir/", "other/"]


def test_versioning_status_empty(s3: Any, bucket: str) -> None:
    answer = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in answer


def test_listing_bad_arguments(s3: Any, bucket: str) -> None:
    expect_error(
        "InvalidArgument", 400, s3.list_objects_v2, Bucket=bucket, ContinuationToken="!!bad!!"
    )
    expect_error("InvalidArgument", 400, s3.list_objects_v2, Bucket=bucket, MaxKeys=-1)
