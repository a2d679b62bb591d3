"""Class: a write's condition key is present exactly on the actions AWS gives it to.

``s3:x-amz-storage-class``, ``s3:x-amz-copy-source`` and ``s3:x-amz-metadata-directive``
were refused at PutBucketPolicy, so the policies users copy from AWS's examples (copies only
from a source prefix, uploads only in one storage class, copies that keep the source's
metadata) could not be set. Each now has a value where AWS's service authorization
reference gives the key to an action (``s3:PutObject``; the storage class also on
``s3:PutObjectAcl``/``s3:PutObjectVersionAcl``; all three on
``s3:BypassGovernanceRetention``) and is absent everywhere else, whatever the request
sends; so are ``s3:x-amz-acl``, ``s3:x-amz-grant-*``, ``s3:x-amz-server-side-encryption``
and the request's tags, which were read on every action (a copy's tags were its source
read's): a key read on an action AWS leaves it off lets a caller who sends the header escape
a ``Deny`` with a negated operator, which holds there on AWS. The copy source is the
decoded ``<bucket>/<key>``, so percent-encoding a character of the key or a leading ``/``
does not escape a ``Deny`` on a prefix.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form
from tests.e2e.s3util import raw_request, sign, unique
from tests.e2e.tenants import deny_on_objects


def _signed(gateway: Gateway, method: str, path: str, headers: dict[str, str]) -> int:
    return raw_request(
        gateway, method, path, headers=sign(gateway, method, path, headers=headers)
    ).status


def test_copies_only_from_the_allowed_source_prefix(gateway: Gateway, s3: Any, bucket: str) -> None:
    source = unique("src")
    s3.create_bucket(Bucket=source)
    for key in ("public/a", "private/a"):
        s3.put_object(Bucket=source, Key=key, Body=b"x")
    deny_on_objects(
        s3,
        bucket,
        "s3:PutObject",
        {
            "StringNotLike": {"s3:x-amz-copy-source": f"{source}/public/*"},
            "Null": {"s3:x-amz-copy-source": "false"},
        },
    )
    put = {"Bucket": bucket, "Key": "copy"}
    s3.copy_object(**put, CopySource={"Bucket": source, "Key": "public/a"})
    for header in (f"{source}/private/a", f"/{source}/private/a", f"{source}/priv%61te/a"):
        status = _signed(gateway, "PUT", f"/{bucket}/copy", {"x-amz-copy-source": header})
        assert status == 403, header
    upload = s3.create_multipart_upload(**put)["UploadId"]
    part = f"/{bucket}/copy?partNumber=1&uploadId={upload}"
    assert _signed(gateway, "PUT", part, {"x-amz-copy-source": f"{source}/private/a"}) == 403
    assert _signed(gateway, "PUT", part, {"x-amz-copy-source": f"{source}/public/a"}) == 200
    s3.put_object(Bucket=bucket, Key="plain", Body=b"y")  # not a copy: the key is absent


def test_an_encoded_or_slashed_source_does_not_escape_a_deny_on_a_prefix(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    source = unique("src")
    s3.create_bucket(Bucket=source)
    for key in ("public/a", "private/a"):
        s3.put_object(Bucket=source, Key=key, Body=b"x")
    deny_on_objects(
        s3, bucket, "s3:PutObject", {"StringLike": {"s3:x-amz-copy-source": f"{source}/private/*"}}
    )
    path = f"/{bucket}/copy"
    for header in (f"{source}/private/a", f"/{source}/private/a", f"{source}/priv%61te/a"):
        assert _signed(gateway, "PUT", path, {"x-amz-copy-source": header}) == 403, header
    versioned = f"{source}/private/a?versionId=null"
    assert _signed(gateway, "PUT", path, {"x-amz-copy-source": versioned}) == 403
    assert _signed(gateway, "PUT", path, {"x-amz-copy-source": f"/{source}/public/a"}) == 200


def test_a_copy_must_keep_the_source_metadata(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    deny_on_objects(
        s3, bucket, "s3:PutObject", {"StringEquals": {"s3:x-amz-metadata-directive": "REPLACE"}}
    )
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="kept", CopySource=source, MetadataDirective="COPY")
    s3.copy_object(Bucket=bucket, Key="default", CopySource=source)
    path = f"/{bucket}/replaced"
    headers = {"x-amz-copy-source": f"{bucket}/src", "x-amz-metadata-directive": "REPLACE"}
    assert _signed(gateway, "PUT", path, headers) == 403


def test_uploads_only_in_one_storage_class(gateway: Gateway, s3: Any, bucket: str) -> None:
    deny_on_objects(
        s3, bucket, "s3:PutObject", {"StringNotEquals": {"s3:x-amz-storage-class": "STANDARD"}}
    )
    s3.put_object(Bucket=bucket, Key="std", Body=b"x", StorageClass="STANDARD")
    path = f"/{bucket}/other"
    assert _signed(gateway, "PUT", path, {"x-amz-storage-class": "STANDARD_IA"}) == 403
    assert _signed(gateway, "PUT", path, {}) == 403  # absent: a negated operator holds
    fields = {"x-amz-storage-class": "STANDARD"}
    form = s3.generate_presigned_post(
        Bucket=bucket, Key="form", Fields=fields, Conditions=[fields]
    )["fields"]
    assert post_form(gateway, bucket, form, b"f").status == 204
    bare = s3.generate_presigned_post(Bucket=bucket, Key="form2")["fields"]
    assert post_form(gateway, bucket, bare, b"f").status == 403


def test_no_grant_of_full_control_to_another(gateway: Gateway, s3: Any, bucket: str) -> None:
    deny_on_objects(s3, bucket, "s3:PutObject", {"Null": {"s3:x-amz-grant-full-control": "false"}})
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    path = f"/{bucket}/granted"
    assert _signed(gateway, "PUT", path, {"x-amz-grant-full-control": f'id="{owner}"'}) == 403
    assert _signed(gateway, "PUT", path, {"x-amz-grant-read": f'id="{owner}"'}) == 200


def test_a_header_sent_where_aws_has_no_key_does_not_escape_a_deny(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """On ``s3:GetObject`` the keys are absent: ``StringNotEquals`` holds whatever is sent
    (the conditions are ANDed: one key read from the request lets the GET through)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    sent = {
        "x-amz-storage-class": "STANDARD",
        "x-amz-metadata-directive": "COPY",
        "x-amz-acl": "private",
        "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
    }
    deny_on_objects(
        s3,
        bucket,
        "s3:GetObject",
        {"StringNotEquals": {f"s3:{name}": value for name, value in sent.items()}},
    )
    assert _signed(gateway, "GET", f"/{bucket}/k", sent) == 403


def test_a_copy_s_write_keys_are_not_its_source_read_s(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """A copy is decided as ``s3:GetObject`` on its source too; the tags, encryption, ACL
    and class the copy asks for are the destination's keys, absent from the source's
    decision (ANDed again: any one read there lets the copy through)."""
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    asked = {
        "s3:RequestObjectTag/team": "red",
        "s3:x-amz-server-side-encryption": "AES256",
        "s3:x-amz-acl": "private",
        "s3:x-amz-storage-class": "STANDARD",
        "s3:x-amz-copy-source": f"{bucket}/src",
        "s3:x-amz-metadata-directive": "COPY",
    }
    deny_on_objects(s3, bucket, "s3:GetObject", {"StringNotEquals": asked})
    headers = {
        "x-amz-copy-source": f"{bucket}/src",
        "x-amz-tagging-directive": "REPLACE",
        "x-amz-tagging": "team=red",
        "x-amz-server-side-encryption": "AES256",
        "x-amz-acl": "private",
        "x-amz-storage-class": "STANDARD",
        "x-amz-metadata-directive": "COPY",
    }
    assert _signed(gateway, "PUT", f"/{bucket}/copy", headers) == 403
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="copy")
