"""obstore (Python bindings of the Rust `object_store` crate, which Polars, DataFusion and
LanceDB read S3 through) against the gateway with the crate's defaults: path-style
requests, one PUT below its chunk size and a multipart upload above it, ranged GETs,
ListObjectsV2 with and without a delimiter, CopyObject, batched deletes, conditional PUTs
(`If-None-Match: *`, `If-Match`), presigned URLs.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import urllib.request
from datetime import timedelta

import obstore as obs
import pytest
from obstore.exceptions import (
    AlreadyExistsError,
    NotModifiedError,
    NotSupportedError,
    PreconditionError,
)

from tests.e2e.clients import BIG, PART, TREE, obstore_store
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique


def new_bucket(gateway: Gateway) -> str:
    """object_store works inside one bucket and never makes one."""
    bucket = unique("obstore")
    gateway.client().create_bucket(Bucket=bucket)
    return bucket


def test_puts_gets_and_ranges(client_gateway: Gateway) -> None:
    bucket = new_bucket(client_gateway)
    store = obstore_store(client_gateway, bucket)
    big = os.urandom(BIG)
    # above chunk_size: CreateMultipartUpload and parts of chunk_size, the last one short
    put = obs.put(store, "big", big, chunk_size=PART)
    assert put["e_tag"] is not None and put["e_tag"].endswith('-3"'), put
    for key, body in TREE.items():
        obs.put(store, f"tree/{key}", body)
    obs.put(
        store,
        "typed.json",
        b"{}",
        attributes={"Content-Type": "application/json", "Cache-Control": "no-cache"},
        tags={"team": "a b", "n": "1"},
    )
    # a buffered writer: its own multipart upload once the buffer fills
    with obs.open_writer(store, "written", buffer_size=PART) as writer:
        for start in range(0, BIG, 1_000_000):
            writer.write(big[start : start + 1_000_000])

    head = obs.head(store, "big")
    assert head["size"] == BIG and head["e_tag"] == put["e_tag"]
    assert obs.get(store, "big").bytes() == big
    assert obs.get(store, "written").bytes() == big
    assert (
        obs.get_range(store, "big", start=PART - 100, end=PART + 100)
        == big[PART - 100 : PART + 100]
    )
    starts, ends = [0, 7_000_000, BIG - 10], [10, 7_000_100, BIG]
    assert [bytes(part) for part in obs.get_ranges(store, "big", starts=starts, ends=ends)] == [
        big[start:end] for start, end in zip(starts, ends, strict=True)
    ]
    assert obs.get(store, "big", options={"range": {"suffix": 10}}).bytes() == big[-10:]
    assert obs.get(store, "big", options={"range": {"offset": BIG - 5}}).bytes() == big[-5:]
    streamed = obs.get(store, "big").stream(min_chunk_size=PART)
    assert b"".join(bytes(chunk) for chunk in streamed) == big
    reader = obs.open_reader(store, "big", buffer_size=1024 * 1024)
    reader.seek(9_000_000)
    assert reader.read(1000) == big[9_000_000:9_001_000]
    for key, body in TREE.items():
        assert obs.get(store, f"tree/{key}").bytes() == body, key

    typed = obs.get(store, "typed.json")
    assert typed.attributes == {"Content-Type": "application/json", "Cache-Control": "no-cache"}
    s3 = client_gateway.client()
    tags = s3.get_object_tagging(Bucket=bucket, Key="typed.json")["TagSet"]
    assert sorted((tag["Key"], tag["Value"]) for tag in tags) == [("n", "1"), ("team", "a b")]

    # with a checksum algorithm set, each PUT and part carries x-amz-checksum-sha256
    checked = obstore_store(client_gateway, bucket, {"checksum_algorithm": "sha256"})
    obs.put(checked, "checked", b"checked body")
    obs.put(checked, "checked-big", big, chunk_size=PART)
    stored = s3.head_object(Bucket=bucket, Key="checked", ChecksumMode="ENABLED")
    digest = base64.b64encode(hashlib.sha256(b"checked body").digest()).decode()
    assert stored["ChecksumSHA256"] == digest
    assert obs.get(store, "checked-big").bytes() == big

    # object_store signs URLs itself (SigV4 query parameters)
    url = obs.sign(store, "GET", "tree/sub/sp ace+plus&amp.txt", timedelta(minutes=5))
    context = ssl.create_default_context(cafile=client_gateway.tls_ca)
    with urllib.request.urlopen(url, context=context, timeout=10) as response:  # loopback
        assert response.read() == TREE["sub/sp ace+plus&amp.txt"]


def test_listing_copy_rename_delete(client_gateway: Gateway) -> None:
    bucket = new_bucket(client_gateway)
    store = obstore_store(client_gateway, bucket)
    keys = [f"tree/{key}" for key in TREE]
    for key in [*keys, "top.txt"]:
        obs.put(store, key, b"body of " + key.encode())

    assert sorted(meta["path"] for meta in obs.list(store).collect()) == sorted([*keys, "top.txt"])
    top = obs.list_with_delimiter(store)
    assert top["common_prefixes"] == ["tree"]
    assert [meta["path"] for meta in top["objects"]] == ["top.txt"]
    sub = obs.list_with_delimiter(store, "tree")
    assert sub["common_prefixes"] == ["tree/deep", "tree/sub"]
    assert [meta["path"] for meta in sub["objects"]] == ["tree/a.txt"]
    under = sorted(meta["path"] for meta in obs.list(store, prefix="tree/sub").collect())
    assert under == sorted(key for key in keys if key.startswith("tree/sub/"))
    # object_store sends a prefix form-encoded (a space as "+", a plus as "%2B") and signs
    # the space as "%20", as S3 reads it
    odd = "odd dir+plus/\u00fcnic\u00f8de"
    obs.put(store, f"{odd}/x", b"x")
    assert [meta["path"] for meta in obs.list(store, prefix=odd).collect()] == [f"{odd}/x"]
    assert obs.list_with_delimiter(store, "odd dir+plus")["common_prefixes"] == [odd]
    obs.delete(store, f"{odd}/x")
    # offset: ListObjectsV2's start-after
    after = [meta["path"] for meta in obs.list(store, offset="tree/deep/er/still/c.txt").collect()]
    assert after == sorted(key for key in [*keys, "top.txt"] if key > "tree/deep/er/still/c.txt")

    unicode_key = "tree/sub/\u00fcnic\u00f8de \u2603.txt"
    obs.copy(store, unicode_key, "copies/one")
    assert obs.get(store, "copies/one").bytes() == b"body of " + unicode_key.encode()
    # copy-if-not-exists: object_store refuses it itself unless told how the store does it
    with pytest.raises(NotSupportedError):
        obs.copy(store, "top.txt", "copies/one", overwrite=False)
    # ... through a multipart upload of one UploadPartCopy, completed with If-None-Match: *
    # (what the crate does for AWS), or a CopyObject sent with If-None-Match: *
    for how, target in (("multipart", "copies/mpu"), ("header:If-None-Match:*", "copies/put")):
        guarded = obstore_store(client_gateway, bucket, {"copy_if_not_exists": how})
        obs.copy(guarded, "top.txt", target, overwrite=False)
        with pytest.raises(AlreadyExistsError):
            obs.copy(guarded, "tree/a.txt", target, overwrite=False)
        assert obs.get(store, target).bytes() == b"body of top.txt"
        with pytest.raises(AlreadyExistsError):  # a rename is a copy, then a delete
            obs.rename(guarded, "tree/a.txt", target, overwrite=False)
        assert obs.head(store, "tree/a.txt")["size"] == len(b"body of tree/a.txt")
    s3 = client_gateway.client()
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == [], "object_store aborts the upload whose completion failed"

    obs.rename(store, "top.txt", "moved/top.txt")
    with pytest.raises(FileNotFoundError):
        obs.head(store, "top.txt")
    assert obs.get(store, "moved/top.txt").bytes() == b"body of top.txt"

    every = [meta["path"] for meta in obs.list(store).collect()]
    obs.delete(store, [*every, "never/written"])  # DeleteObjects; a missing key is no error
    assert obs.list(store).collect() == []


def test_conditional_puts(client_gateway: Gateway) -> None:
    store = obstore_store(client_gateway, new_bucket(client_gateway))
    created = obs.put(store, "c", b"one", mode="create")  # If-None-Match: *
    with pytest.raises(AlreadyExistsError):
        obs.put(store, "c", b"two", mode="create")
    assert created["e_tag"] is not None
    updated = obs.put(store, "c", b"two", mode={"e_tag": created["e_tag"]})  # If-Match
    with pytest.raises(PreconditionError):
        obs.put(store, "c", b"three", mode={"e_tag": created["e_tag"]})
    assert obs.get(store, "c").bytes() == b"two"
    # If-Match on a key that is not there: S3's 404 NoSuchKey, a failed precondition to
    # object_store
    with pytest.raises(PreconditionError):
        obs.put(store, "missing", b"x", mode={"e_tag": created["e_tag"]})

    assert updated["e_tag"] is not None
    with pytest.raises(NotModifiedError):
        obs.get(store, "c", options={"if_none_match": updated["e_tag"]})
    with pytest.raises(PreconditionError):
        obs.get(store, "c", options={"if_match": created["e_tag"]})
    assert obs.get(store, "c", options={"if_match": updated["e_tag"]}).bytes() == b"two"
