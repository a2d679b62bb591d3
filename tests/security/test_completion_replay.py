"""Class: a CompleteMultipartUpload answered again (the upload is gone) writes nothing.

S3 answers a completion retried after it succeeded with the object it made; the
filesystem backend does too (``backends.filesystem.completion.completed_before``). The
gateway then recorded the object's ownership row as for a new object written without an
upload row: private, owned by the bucket owner. Anyone allowed to write the key could so,
by repeating a completion with the parts' ETags, reset the ACL another writer had given
the object (public-read gone) and take it from the account that owned it, without
``s3:PutObjectAcl``. Now a completion whose upload was gone before it began leaves the
object's row as it was.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_process import Gateway

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _public(s3: Any, bucket: str, key: str) -> bool:
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS for g in grants)


def test_a_replayed_completion_keeps_the_objects_acl(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ACL="public-read")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")[
        "ETag"
    ]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts
    )
    assert _public(s3, bucket, "k")

    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts
    )
    assert again["ETag"] == first["ETag"]
    assert _public(s3, bucket, "k")
