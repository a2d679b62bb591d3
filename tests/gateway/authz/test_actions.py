"""The action table: AWS's spelling, resource types, versioned variants."""

from __future__ import annotations

import pytest

from gateway.authz import ACTIONS, ResourceKind, canonical_action, versioned_action


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("s3:GetObject", "s3:GetObject"),
        ("S3:GETOBJECT", "s3:GetObject"),
        ("s3:getbucketcors", "s3:GetBucketCORS"),
        ("s3:GetObjekt", None),
        ("iam:PassRole", None),
    ],
)
def test_canonical_action(written: str, canonical: str | None) -> None:
    assert canonical_action(written) == canonical


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("s3:ListBucket", ResourceKind.BUCKET),
        ("s3:GetBucketPolicy", ResourceKind.BUCKET),
        ("s3:GetObject", ResourceKind.OBJECT),
        ("s3:AbortMultipartUpload", ResourceKind.OBJECT),
        ("s3:ListMultipartUploadParts", ResourceKind.OBJECT),
        ("s3:ListAllMyBuckets", ResourceKind.NONE),
    ],
)
def test_resource_kinds(action: str, kind: ResourceKind) -> None:
    assert ACTIONS[action] is kind


@pytest.mark.parametrize(
    ("action", "version_id", "needed"),
    [
        ("s3:GetObject", None, "s3:GetObject"),
        ("s3:GetObject", "v1", "s3:GetObjectVersion"),
        ("s3:GetObject", "null", "s3:GetObjectVersion"),
        ("s3:DeleteObject", "v1", "s3:DeleteObjectVersion"),
        ("s3:PutObjectAcl", "v1", "s3:PutObjectVersionAcl"),
        ("s3:PutObject", "v1", "s3:PutObject"),
    ],
)
def test_versioned_action(action: str, version_id: str | None, needed: str) -> None:
    assert versioned_action(action, version_id=version_id) == needed
    assert needed in ACTIONS


def test_every_action_is_spelled_once() -> None:
    lowered = [name.lower() for name in ACTIONS]
    assert len(lowered) == len(set(lowered))
    assert all(name.startswith(("s3:", "s3express:")) for name in ACTIONS)
