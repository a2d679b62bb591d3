"""User metadata and a canned ACL hoisted into a presigned URL's query string are applied,
as S3 applies them (``gateway/s3/hoisted.py``); unsigned or ambiguous ones are not.

The URLs are made by botocore's query signer with the ``x-amz-meta-*`` parameters in the
URL before signing, which is what hoisting presigners (the JS SDK v3's ``getSignedUrl``;
``tests/e2e/js/s3_e2e.mjs`` covers that one) produce; they are used with plain urllib,
sending no metadata headers, as a browser or ``curl`` would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import urlopen
from tests.e2e.tenants import ALL_USERS, anonymous_get


def _presign_v4(
    gw: Gateway,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
) -> str:
    url = f"{gw.s3_url}{path}?{urlencode(params, quote_via=quote)}" if params else gw.s3_url + path
    request = AWSRequest(method=method, url=url, headers=headers or {})
    S3SigV4QueryAuth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1", 300).add_auth(
        request
    )
    return str(request.url)


def test_hoisted_metadata_is_stored(gateway: Gateway, s3: Any, bucket: str) -> None:
    url = _presign_v4(
        gateway,
        "PUT",
        f"/{bucket}/photo.jpg",
        {"x-amz-meta-origin": "browser", "X-Amz-Meta-Taken-At": "2026-12-02"},
    )
    assert "x-amz-meta-origin=browser" in url
    response = urlopen(gateway, url, method="PUT", data=b"jpeg bytes")
    assert response.status == 200, response.body
    head = s3.head_object(Bucket=bucket, Key="photo.jpg")
    assert head["Metadata"] == {"origin": "browser", "taken-at": "2026-12-02"}


def test_metadata_added_after_signing_is_refused(gateway: Gateway, bucket: str) -> None:
    url = _presign_v4(gateway, "PUT", f"/{bucket}/k", {"x-amz-meta-a": "1"})
    tampered = url + "&x-amz-meta-admin=true"
    response = urlopen(gateway, tampered, method="PUT", data=b"x")
    assert (response.status, response.error_code()) == (403, "SignatureDoesNotMatch")


def test_header_and_query_disagreeing_is_invalid(gateway: Gateway, s3: Any, bucket: str) -> None:
    header = {"x-amz-meta-color": "red"}

    def put(in_query: str) -> Any:
        # Both signed: the header is in X-Amz-SignedHeaders, the parameter in the query.
        url = _presign_v4(gateway, "PUT", f"/{bucket}/k", {"x-amz-meta-color": in_query}, header)
        return urlopen(gateway, url, method="PUT", data=b"x", headers=header)

    response = put("blue")
    assert (response.status, response.error_code()) == (400, "InvalidArgument")
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="k")
    response = put("red")  # the same value twice is no ambiguity
    assert response.status == 200, response.body
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"color": "red"}


def test_invalid_metadata_name_is_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    url = _presign_v4(gateway, "PUT", f"/{bucket}/k", {"x-amz-meta-a b": "1"})
    response = urlopen(gateway, url, method="PUT", data=b"x")
    assert (response.status, response.error_code()) == (400, "InvalidArgument")


def test_hoisted_metadata_with_an_empty_name_is_left_out_and_counted(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """``x-amz-meta-`` (nothing after the prefix) in the signed query is what the header
    is on PutObject: the write is accepted, the entry left out and counted in
    ``x-amz-missing-meta`` on reads (S3 hoists query metadata to headers). It used to be
    refused with ``InvalidArgument`` while the header was accepted."""
    url = _presign_v4(
        gateway, "PUT", f"/{bucket}/k", {"x-amz-meta-": "empty", "x-amz-meta-ok": "v"}
    )
    response = urlopen(gateway, url, method="PUT", data=b"x")
    assert response.status == 200, response.body
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"ok": "v"}
    headers = head["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-meta-" not in headers
    assert headers.get("x-amz-missing-meta") == "1"


def test_sigv2_presigned_query_metadata(gateway: Gateway, s3: Any, bucket: str) -> None:
    """SigV2 signs the query's x-amz-* parameters too (CanonicalizedAmzHeaders): signed
    ones are stored, one added afterwards breaks the signature."""
    plain = {"Content-Type": "application/octet-stream"}
    # botocore's SigV2 presigner signs x-amz-* headers and hoists them into the query (as
    # boto 2's did), so the user need not send them. (Appending the parameter once more
    # would name it twice: InvalidArgument, tests/security/test_query_plus.py.)
    request = AWSRequest(
        method="PUT",
        url=f"{gateway.s3_url}/{bucket}/v2",
        headers={**plain, "x-amz-meta-origin": "v2"},
    )
    HmacV1QueryAuth(Credentials(gateway.access_key, gateway.secret_key), expires=300).add_auth(
        request
    )
    url = str(request.url)
    assert "&x-amz-meta-origin=v2" in url
    tampered = urlopen(gateway, url + "&x-amz-meta-injected=yes", "PUT", b"x", plain)
    assert (tampered.status, tampered.error_code()) == (403, "SignatureDoesNotMatch")
    response = urlopen(gateway, url, method="PUT", data=b"x", headers=plain)
    assert response.status == 200, response.body
    assert s3.head_object(Bucket=bucket, Key="v2")["Metadata"] == {"origin": "v2"}


def test_hoisted_canned_acl_is_applied(gateway: Gateway, s3: Any, bucket: str) -> None:
    """A canned ACL in the signed query is the object's ACL, as S3 applies it (the Java
    SDK's ``addRequestParameter("x-amz-acl", ...)``, the JS SDK v3's ``getSignedUrl``):
    a URL signed to upload public-read makes an object anyone can read."""
    url = _presign_v4(gateway, "PUT", f"/{bucket}/public.txt", {"x-amz-acl": "public-read"})
    response = urlopen(gateway, url, method="PUT", data=b"for everyone")
    assert response.status == 200, response.body
    grants = s3.get_object_acl(Bucket=bucket, Key="public.txt")["Grants"]
    assert {"Type": "Group", "URI": ALL_USERS} in [g["Grantee"] for g in grants]
    assert anonymous_get(gateway, f"/{bucket}/public.txt").body == b"for everyone"
    tampered = _presign_v4(gateway, "PUT", f"/{bucket}/private.txt", {}) + "&x-amz-acl=public-read"
    response = urlopen(gateway, tampered, method="PUT", data=b"x")
    assert (response.status, response.error_code()) == (403, "SignatureDoesNotMatch")


def test_hoisted_acl_is_decided_as_a_header_is(gateway: Gateway, s3: Any, bucket: str) -> None:
    """The access decision sees it: a bucket blocking public ACLs refuses the upload, and
    one whose ownership is BucketOwnerEnforced refuses any ACL but the owner's."""
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    url = _presign_v4(gateway, "PUT", f"/{bucket}/k", {"x-amz-acl": "public-read"})
    response = urlopen(gateway, url, method="PUT", data=b"x")
    assert (response.status, response.error_code()) == (403, "AccessDenied"), response.body
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    response = urlopen(gateway, url, method="PUT", data=b"x")
    assert (response.status, response.error_code()) == (400, "AccessControlListNotSupported")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.fixture
def s3(gateway: Gateway) -> Any:
    return gateway.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    import uuid

    name = f"hoist-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
