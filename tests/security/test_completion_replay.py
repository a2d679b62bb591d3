"""Class: a CompleteMultipartUpload answered again (the upload is gone) writes nothing.

S3 answers a completion retried after it succeeded with the object it made; the
filesystem backend does too (``backends.filesystem.completion.retried``). The
gateway then recorded the object's ownership row as for a new object written without an
upload row: private, owned by the bucket owner. Anyone allowed to write the key could so,
by repeating a completion with the parts' ETags, reset the ACL another writer had given
the object (public-read gone) and take it from the account that owned it, without
``s3:PutObjectAcl``. Now a completion whose upload was gone before it began leaves the
object's row as it was.

Also: a CompleteMultipartUpload that began before another completion of its upload
ended writes no ownership row.

The gateway reads the upload's row (its owner and ACL) when it authorises a request. A
second completion of one upload, authorised while the first was still running, went on
to record that row over the object's once the backend answered it as a retry of the
first (same ETag): an ACL set on the object between the two (``PutObjectAcl``) was
reset to the upload's, by a request that only repeated a completion. Now the upload's
row becomes the object's only once, in the step that removes it
(``ObjectAclStore.complete_upload``); the completion that finds it gone writes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import sign
from tests.security.held_body import held_body

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _public(s3: Any, bucket: str, key: str) -> bool:
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS for g in grants)


def _public_read_upload(s3: Any, bucket: str) -> tuple[str, str]:
    """(upload id, part 1's ETag) of an upload of key ``k`` made ``public-read`` in a
    bucket whose ACLs count."""
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
    return upload_id, etag


def test_a_replayed_completion_keeps_the_objects_acl(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    upload_id, etag = _public_read_upload(s3, bucket)
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


def test_a_completion_authorised_before_another_ended_keeps_the_objects_acl(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    upload_id, etag = _public_read_upload(s3, bucket)
    body = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    path = f"/{bucket}/k?uploadId={upload_id}"
    headers = sign(
        gateway,
        "POST",
        path,
        body=body,
        headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
    )
    # authorised (the upload's row read) once the gateway asks for the body
    with held_body(gateway.s3_port, "POST", path, headers, body) as late:
        first = s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        assert _public(s3, bucket, "k")
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")

        answer = late.send()
    assert answer.status == 200, answer
    assert first["ETag"].encode() in answer.body.replace(b"&quot;", b'"')
    assert not _public(s3, bucket, "k")
