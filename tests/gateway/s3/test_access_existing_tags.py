"""What ``s3:ExistingObjectTag`` costs a request, in-process (the real app, identity store
and filesystem backend): the object's tag set is read from the backend only when the
bucket policy has a statement addressed to the caller and action that mentions the key
and the action carries it, and then once per object and request. The backend's
``get_object_tagging`` is wrapped to count calls; every call still goes through."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from backends.types import ObjectTagging
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.state import BACKEND
from tests.gateway.s3.conftest import ROOT, error_code, make_bucket

Reads = list[tuple[str, str, str | None]]


@pytest.fixture
async def reads(s3: TestClient[Any, Any]) -> Reads:
    """Each tag read the backend serves (bucket, key, version id), in order."""
    await s3.get("/", headers=ROOT)  # the app's resources are opened by the first request
    backend = s3.app[BACKEND]
    seen: Reads = []
    original: Callable[..., Awaitable[ObjectTagging]] = backend.get_object_tagging

    async def counted(bucket: str, key: str, *, version_id: str | None = None) -> ObjectTagging:
        seen.append((bucket, key, version_id))
        return await original(bucket, key, version_id=version_id)

    backend.get_object_tagging = counted
    return seen


async def _put_policy(s3: TestClient[Any, Any], bucket: str, *statements: Any) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    response = await s3.put(f"/{bucket}?policy", data=document, headers=ROOT)
    assert response.status == 204, await response.text()


def _on_tag(bucket: str, actions: list[str], principal: Any = "*", **extra: Any) -> Any:
    return {
        "Effect": "Deny",
        "Principal": principal,
        "Action": actions,
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}},
        **extra,
    }


async def _objects(s3: TestClient[Any, Any]) -> str:
    bucket = await make_bucket(s3)
    for key, tagging in (("secret", "classification=secret"), ("plain", None)):
        headers = dict(ROOT) if tagging is None else {**ROOT, "x-amz-tagging": tagging}
        response = await s3.put(f"/{bucket}/{key}", data=b"x", headers=headers)
        assert response.status == 200, await response.text()
    return bucket


async def test_no_read_without_a_policy_or_without_the_key(
    s3: TestClient[Any, Any], reads: Reads
) -> None:
    bucket = await _objects(s3)
    assert (await s3.get(f"/{bucket}/secret", headers=ROOT)).status == 200
    await _put_policy(
        s3,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        },
    )
    assert (await s3.get(f"/{bucket}/secret", headers=ROOT)).status == 200
    assert (await s3.head(f"/{bucket}/secret", headers=ROOT)).status == 200
    assert reads == []


async def test_no_read_for_actions_that_do_not_carry_the_key(
    s3: TestClient[Any, Any], reads: Reads
) -> None:
    """Writes and deletes of the object itself and bucket actions: AWS accepts such a
    statement, and the key is absent from their requests."""
    bucket = await _objects(s3)
    await _put_policy(
        s3, bucket, _on_tag(bucket, ["s3:PutObject", "s3:DeleteObject", "s3:ListBucket"])
    )
    assert (await s3.put(f"/{bucket}/secret", data=b"y", headers=ROOT)).status == 200
    assert (await s3.get(f"/{bucket}?list-type=2", headers=ROOT)).status == 200
    assert (await s3.delete(f"/{bucket}/secret", headers=ROOT)).status == 204
    assert reads == []


async def test_no_read_when_no_statement_addresses_the_caller(
    s3: TestClient[Any, Any], reads: Reads
) -> None:
    bucket = await _objects(s3)
    someone_else = {"AWS": f"arn:aws:iam::{SYSTEM_ACCOUNT_ID}:user/someone-else"}
    await _put_policy(s3, bucket, _on_tag(bucket, ["s3:GetObject"], principal=someone_else))
    assert (await s3.get(f"/{bucket}/secret", headers=ROOT)).status == 200
    assert reads == []


async def test_one_read_per_object_and_request(s3: TestClient[Any, Any], reads: Reads) -> None:
    bucket = await _objects(s3)
    await _put_policy(
        s3,
        bucket,
        _on_tag(
            bucket,
            ["s3:GetObject", "s3:GetObjectAttributes", "s3:PutObjectTagging"],
            Sid="NoSecrets",
        ),
    )
    denied = await s3.get(f"/{bucket}/secret", headers=ROOT)
    assert await error_code(denied, 403) == "AccessDenied"
    assert reads == [(bucket, "secret", None)]
    reads.clear()
    assert (await s3.head(f"/{bucket}/plain", headers=ROOT)).status == 200
    assert reads == [(bucket, "plain", None)]
    reads.clear()
    # GetObjectAttributes is decided twice (s3:GetObjectAttributes and s3:GetObject) on
    # one object: one read.
    attributes = {**ROOT, "x-amz-object-attributes": "ETag"}
    assert (await s3.get(f"/{bucket}/plain?attributes", headers=attributes)).status == 200
    assert reads == [(bucket, "plain", None)]
    reads.clear()
    # A copy reads the source's tags (its s3:GetObject); the tags the copy sets are judged
    # as s3:PutObjectTagging on the new object, which has no existing tags to read.
    copy = {
        **ROOT,
        "x-amz-copy-source": f"/{bucket}/plain",
        "x-amz-tagging-directive": "REPLACE",
        "x-amz-tagging": "classification=secret",
    }
    assert (await s3.put(f"/{bucket}/copy", headers=copy)).status == 200
    assert reads == [(bucket, "plain", None)]
    reads.clear()
    copy["x-amz-copy-source"] = f"/{bucket}/secret"
    assert await error_code(await s3.put(f"/{bucket}/copy2", headers=copy), 403) == "AccessDenied"
    assert reads == [(bucket, "secret", None)]
    reads.clear()
    # A missing key: one read finds nothing, the key is absent, the handler answers.
    missing = await s3.get(f"/{bucket}/ghost", headers=ROOT)
    assert await error_code(missing, 404) == "NoSuchKey"
    assert reads == [(bucket, "ghost", None)]


async def test_the_version_named_is_read(s3: TestClient[Any, Any], reads: Reads) -> None:
    bucket = await make_bucket(s3)
    versioning = (
        b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Status>Enabled</Status></VersioningConfiguration>"
    )
    assert (await s3.put(f"/{bucket}?versioning", data=versioning, headers=ROOT)).status == 200
    tagged = {**ROOT, "x-amz-tagging": "classification=secret"}
    old = await s3.put(f"/{bucket}/k", data=b"old", headers=tagged)
    await s3.put(f"/{bucket}/k", data=b"new", headers=ROOT)
    v1 = old.headers["x-amz-version-id"]
    await _put_policy(s3, bucket, _on_tag(bucket, ["s3:GetObject", "s3:GetObjectVersion"]))
    assert (await s3.get(f"/{bucket}/k", headers=ROOT)).status == 200
    denied = await s3.get(f"/{bucket}/k?versionId={v1}", headers=ROOT)
    assert await error_code(denied, 403) == "AccessDenied"
    assert reads == [(bucket, "k", None), (bucket, "k", v1)]
