"""Class: a GET or HEAD told whoever could read the object how many tags it has
(``x-amz-tagging-count``), although the tags are only theirs to see with
``s3:GetObjectTagging``. S3 answers the count "when you have the relevant permission to
read object tags": an anonymous reader of a public object, or a grantee of
``s3:GetObject`` alone, learns nothing of the tag set, and a version's count needs
``s3:GetObjectVersionTagging``."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import urlopen

_COUNT = "x-amz-tagging-count"


def _allow_anyone(s3: Any, bucket: str, *actions: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": list(actions),
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


def _count(gateway: Gateway, path: str, method: str = "GET") -> str | None:
    answer = urlopen(gateway, f"{gateway.s3_url}{path}", method=method)
    assert answer.status == 200, answer.body
    return answer.headers.get(_COUNT)


def test_the_tag_count_is_for_those_who_may_read_the_tags(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="secret=1&more=2")[
        "VersionId"
    ]
    path = f"/{bucket}/k"
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2  # the owner sees it

    _allow_anyone(s3, bucket, "s3:GetObject", "s3:GetObjectVersion")
    assert _count(gateway, path) is None
    assert _count(gateway, path, "HEAD") is None
    assert _count(gateway, f"{path}?versionId={version}") is None

    _allow_anyone(s3, bucket, "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging")
    assert _count(gateway, path) == "2"
    assert _count(gateway, path, "HEAD") == "2"
    # a version's tags are s3:GetObjectVersionTagging's
    assert _count(gateway, f"{path}?versionId={version}") is None
