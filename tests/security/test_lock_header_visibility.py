"""Class: a GET or HEAD told whoever could read a version how long it is kept and whether
it is held (``x-amz-object-lock-mode`` / ``-retain-until-date`` / ``-legal-hold``),
although GetObjectRetention and GetObjectLegalHold refused them the same facts. S3
answers the retention headers only to a requester with ``s3:GetObjectRetention`` and the
legal hold only to one with ``s3:GetObjectLegalHold``: an anonymous reader of a public
object, or a grantee of ``s3:GetObject`` alone, learns neither."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import urlopen
from tests.security.test_tag_count_visibility import _allow_anyone

_LOCK = ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date")
_HOLD = "x-amz-object-lock-legal-hold"


def _shown(gateway: Gateway, path: str, method: str) -> set[str]:
    answer = urlopen(gateway, f"{gateway.s3_url}{path}", method=method)
    assert answer.status == 200, answer.body
    return {name for name in (*_LOCK, _HOLD) if answer.headers.get(name) is not None}


def test_lock_headers_are_for_those_who_may_read_the_lock(gateway: Gateway, s3: Any) -> None:
    bucket = f"sec-lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    version = s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=1),
        ObjectLockLegalHoldStatus="ON",
    )["VersionId"]
    owner = s3.head_object(Bucket=bucket, Key="k")  # the owner is told everything
    assert owner["ObjectLockMode"] == "GOVERNANCE" and owner["ObjectLockLegalHoldStatus"] == "ON"
    path = f"/{bucket}/k"
    paths = (path, f"{path}?versionId={version}")
    reads = ("s3:GetObject", "s3:GetObjectVersion")

    _allow_anyone(s3, bucket, *reads)
    for where in paths:
        for method in ("GET", "HEAD"):
            assert _shown(gateway, where, method) == set()

    _allow_anyone(s3, bucket, *reads, "s3:GetObjectRetention")
    for where in paths:
        for method in ("GET", "HEAD"):
            assert _shown(gateway, where, method) == set(_LOCK)

    _allow_anyone(s3, bucket, *reads, "s3:GetObjectRetention", "s3:GetObjectLegalHold")
    for where in paths:
        for method in ("GET", "HEAD"):
            assert _shown(gateway, where, method) == {*_LOCK, _HOLD}
    s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
