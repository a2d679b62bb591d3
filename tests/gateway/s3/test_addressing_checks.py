"""The bucket-name and key checks every request makes give what their rules give.

The checks take shortcuts (a name's whole answer remembered, a key short enough that
its UTF-8 form cannot pass 1,024 bytes not encoded, a path part without ``%`` taken as
it is): each is compared here with the rule spelled out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.s3.addressing import (
    MAX_KEY_BYTES,
    check_bucket_name,
    check_key,
    creatable_bucket_name,
    parse_address,
)
from gateway.s3.errors import S3Error
from gateway.s3.request import read_request
from tests.gateway.s3.conftest import make_config

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")


def _reference(name: str) -> bool:
    """S3's rules for a new bucket's name, and AWS's reserved names, as written out."""
    if not 3 <= len(name) <= 63 or not _NAME.fullmatch(name):
        return False
    if ".." in name or ".-" in name or "-." in name or _IP.fullmatch(name):
        return False
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        return False
    return not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))


_NAMES = [
    "ab",
    "abc",
    "a" * 63,
    "a" * 64,
    "plain",
    "Upper",
    "192.168.1.1",
    "1.2.3.4a",
    "a..b",
    "a.-b",
    "a-.b",
    "xn--abc",
    "sthree-abc",
    "amzn-s3-demo-bucket",
    "name-s3alias",
    "name--ol-s3",
    "name.mrap",
    "name--x-s3",
    "name--table-s3",
    "name\n",
    "-abc",
    "abc-",
]


@pytest.mark.parametrize("name", _NAMES)
def test_bucket_names_as_the_rules_read_them(name: str) -> None:
    for _ in range(2):  # the second answer is the remembered one
        assert creatable_bucket_name(name) is _reference(name)
        if _reference(name):
            check_bucket_name(name)
        else:
            with pytest.raises(S3Error) as refused:
                check_bucket_name(name)
            assert refused.value.code == "InvalidBucketName"


@settings(max_examples=500)
@given(st.text(alphabet="ab1-.\nx", min_size=0, max_size=70))
def test_any_bucket_name_as_the_rules_read_it(name: str) -> None:
    assert creatable_bucket_name(name) is _reference(name)
    assert creatable_bucket_name(name) is _reference(name)


@pytest.mark.parametrize(
    ("key", "size"),
    [
        ("k" * 1024, 1024),
        ("k" * 1025, 1025),
        ("\U0001d11e" * 256, 1024),  # four bytes a character: the shortcut's edge
        ("\U0001d11e" * 256 + "k", 1025),
        ("\U0001d11e" * 257, 1028),
        ("é" * 512, 1024),
        ("é" * 512 + "k", 1025),
        ("\udcff" * 341 + "k", 1024),  # a byte that was not UTF-8 (surrogateescape)
        ("\udcff" * 342, 1026),
    ],
)
def test_key_length_is_counted_in_bytes(key: str, size: int) -> None:
    if size <= MAX_KEY_BYTES:
        check_key(key)
        return
    with pytest.raises(S3Error) as refused:
        check_key(key)
    assert refused.value.code == "KeyTooLongError"
    assert refused.value.extra["Size"] == str(size)


@pytest.mark.parametrize(
    ("target", "bucket", "key"),
    [
        ("/b/plain-key", "b", "plain-key"),
        ("/b/a%20b", "b", "a b"),
        ("/b/a+b", "b", "a+b"),
        ("/b%2Dx/k%2Fj", "b-x", "k/j"),
        ("/b/%C3%A9", "b", "é"),
    ],
)
def test_path_parts_decoded_once(target: str, bucket: str, key: str) -> None:
    address = parse_address(target, None, None)
    assert (address.bucket, address.key) == (bucket, key)


@pytest.mark.parametrize("target", ["/b/a%zz", "/b/a%2", "/b%/k", "/b/%ff"])
def test_a_bad_escape_in_the_path_is_invalid_uri(target: str) -> None:
    with pytest.raises(S3Error) as refused:
        parse_address(target, None, None)
    assert refused.value.code == "InvalidURI"


@pytest.mark.parametrize(
    "name", ["amzn-s3-demo-bucket", "name.mrap", "name--x-s3", "name--table-s3"]
)
def test_a_name_reserved_for_new_buckets_still_names_an_existing_one(
    name: str, tmp_path: Path
) -> None:
    """AWS reserves these names for new buckets only (CreateBucket refuses them: the
    handler's ``check_bucket_name``); a bucket an upstream store or an older gateway holds
    under one is read, written and copied from as any other."""
    config = make_config(tmp_path)
    for method, target, headers in (
        ("GET", f"/{name}/k", {}),
        ("HEAD", f"/{name}", {}),
        ("PUT", "/plain/k", {"x-amz-copy-source": f"/{name}/k"}),
    ):
        http = make_mocked_request(method, target, headers={"Host": "gw", **headers})
        read_request(http, config)
    with pytest.raises(S3Error) as refused:
        check_bucket_name(name)
    assert refused.value.code == "InvalidBucketName"
    for invalid in ("xn--abc", "a..b"):
        for target, headers in (
            (f"/{invalid}/k", {}),
            ("/plain/k", {"x-amz-copy-source": f"/{invalid}/k"}),
        ):
            http = make_mocked_request("PUT", target, headers={"Host": "gw", **headers})
            with pytest.raises(S3Error) as refused:
                read_request(http, config)
            assert refused.value.code == "InvalidBucketName"
