"""An SSE-C object's key guards its bytes and its headers, not its metadata: S3 answers
GetObjectAcl and PutObjectAcl without the key, and lifecycle rules expire SSE-C objects
like any other. The gateway's own reads of an object's version, ETag and date
(``Backend.describe_object``) need no key; before, they went through ``head_object``, so
ACL requests on an SSE-C object were ``400 InvalidRequest`` and the lifecycle sweeper
skipped every SSE-C object, current or noncurrent, for good. On the s3 backend (SeaweedFS
here, which keeps SSE-C) the store refuses the keyless HEAD, so the version is found in
the store's version listing instead."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.lifecycle_util import eventually, keys, new_bucket, rule, swept_gateway
from tests.security.data_util import sse_c_key


@pytest.fixture(scope="module", params=["filesystem", "seaweedfs"])
def gw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    yield from swept_gateway(request, tmp_path_factory, "sse-c-meta")


@pytest.fixture
def s3(gw: Gateway) -> Any:
    return gw.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3, "ssecm")


def ssec(key: bytes) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def test_acls_of_an_sse_c_object_need_no_key(s3: Any, bucket: str) -> None:
    key, _ = sse_c_key()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one", **ssec(key))["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", **ssec(key))
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=first, ACL="authenticated-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k", VersionId=first)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AuthenticatedUsers") for g in grants)
    # the bytes still answer only to the key
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.get_object(Bucket=bucket, Key="k", **ssec(key))["Body"].read() == b"two"


def test_lifecycle_expires_sse_c_objects(gw: Gateway, s3: Any, bucket: str) -> None:
    key, _ = sse_c_key()
    s3.put_object(Bucket=bucket, Key="tmp/c", Body=b"secret", **ssec(key))
    s3.put_object(Bucket=bucket, Key="tmp/p", Body=b"plain")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"kept", **ssec(key))
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [rule("tmp", "tmp/", Expiration={"Days": 1})]},
    )
    eventually(lambda: keys(s3, bucket) == ["keep"], "expiration of the SSE-C object", gw)


def test_lifecycle_removes_a_noncurrent_sse_c_null_version(
    gw: Gateway, s3: Any, bucket: str
) -> None:
    """The null version (written before versioning) is re-read before its deletion."""
    key, _ = sse_c_key()
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", **ssec(key))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", **ssec(key))
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [rule("old", "", NoncurrentVersionExpiration={"NoncurrentDays": 1})]
        },
    )

    def versions() -> list[str]:
        listing = s3.list_object_versions(Bucket=bucket)
        return [v["VersionId"] for v in listing.get("Versions", [])]

    eventually(
        lambda: len(versions()) == 1 and "null" not in versions(),
        "expiration of the noncurrent SSE-C null version",
        gw,
    )
    assert s3.get_object(Bucket=bucket, Key="k", **ssec(key))["Body"].read() == b"new"


def test_object_lock_and_conditional_delete_of_sse_c_objects(s3: Any) -> None:
    """Retention and legal holds are read without the key (the s3 backend read them from a
    keyless HEAD, which the store refuses for an SSE-C object: 400), and so is the ETag
    that ``If-Match: *`` on a DeleteObject stands for."""
    key, _ = sse_c_key()
    locked = f"ssecl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=locked, Key="k", Body=b"held", **ssec(key))
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"]["Status"] == "ON"
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"]["Status"] == "OFF"
    with pytest.raises(ClientError) as caught:
        s3.get_object_retention(Bucket=locked, Key="k")
    assert caught.value.response["Error"]["Code"] == "NoSuchObjectLockConfiguration"
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    s3.put_object_retention(
        Bucket=locked, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    assert (retention["Mode"], retention["RetainUntilDate"]) == ("GOVERNANCE", until)

    plain = f"ssecd-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=plain)
    s3.put_object(Bucket=plain, Key="k", Body=b"gone", **ssec(key))
    s3.delete_object(Bucket=plain, Key="k", IfMatch="*")
    assert s3.list_objects_v2(Bucket=plain).get("Contents") is None
