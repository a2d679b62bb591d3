"""Class: a request body in a namespace other than S3's is refused, whatever the document.

S3 reads its request documents with no namespace or with
``http://s3.amazonaws.com/doc/2006-03-01/`` (botocore and the JS SDK v3 send the
namespace on some documents and none on others) and answers any other ``MalformedXML``
(``MalformedACLError`` for an ACL). The gateway compared element names without their
namespace, so ``<Delete xmlns="urn:evil">`` deleted objects, and a document of some other
vocabulary was read as S3's. The one reader, ``gateway.s3.xml.parse_xml``, now refuses an
element in any other namespace, in every body type, before anything changes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import s3cmd, s3cmd_config
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _send(gw: Gateway, method: str, path: str, document: str) -> tuple[int, str | None]:
    body = document.encode()
    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    headers = sign(gw, method, path, body=body, headers=md5)
    reply = raw_request(gw, method, path, body=body, headers=headers)
    return reply.status, reply.error_code()


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


FOREIGN = [
    pytest.param('<Delete xmlns="urn:evil"><Object><Key>a</Key></Object></Delete>', id="root"),
    pytest.param(
        '<Delete><Object xmlns="urn:evil"><Key>a</Key></Object></Delete>', id="one-element"
    ),
    pytest.param(
        '<e:Delete xmlns:e="urn:evil"><e:Object><e:Key>a</e:Key></e:Object></e:Delete>',
        id="prefixed",
    ),
    pytest.param(
        f'<Delete xmlns="{S3_NS.rstrip("/")}"><Object><Key>a</Key></Object></Delete>',
        id="s3-without-slash",
    ),
]


@pytest.mark.parametrize("document", FOREIGN)
def test_delete_objects_in_another_namespace_deletes_nothing(
    gateway: Gateway, s3: Any, bucket: str, document: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"kept")
    assert _send(gateway, "POST", f"/{bucket}?delete", document) == (400, "MalformedXML")
    assert _keys(s3, bucket) == ["a"]


@pytest.mark.parametrize(
    "document",
    [
        "<Delete><Object><Key>a</Key></Object></Delete>",
        f'<Delete xmlns="{S3_NS}"><Object><Key>a</Key></Object></Delete>',
        f'<s3:Delete xmlns:s3="{S3_NS}"><s3:Object><s3:Key>a</s3:Key></s3:Object></s3:Delete>',
    ],
    ids=["none", "s3", "s3-prefixed"],
)
def test_delete_objects_without_or_in_the_s3_namespace_deletes(
    gateway: Gateway, s3: Any, bucket: str, document: str
) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    assert _send(gateway, "POST", f"/{bucket}?delete", document)[0] == 200
    assert _keys(s3, bucket) == []


def _tags(s3: Any, bucket: str) -> list[dict[str, str]]:
    return list(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"])


def _versioning(s3: Any, bucket: str) -> str | None:
    status: str | None = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return status


def _cors(s3: Any, bucket: str) -> object:
    try:
        return s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except s3.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


BODIES: list[tuple[str, str, str, str, Callable[[Any, str], object]]] = [
    (
        "PUT",
        "k?tagging",
        '<Tagging xmlns="urn:evil"><TagSet><Tag><Key>n</Key><Value>v</Value></Tag>'
        "</TagSet></Tagging>",
        "MalformedXML",
        _tags,
    ),
    (
        "PUT",
        "?versioning",
        '<VersioningConfiguration><Status xmlns="urn:evil">Enabled</Status>'
        "</VersioningConfiguration>",
        "MalformedXML",
        _versioning,
    ),
    (
        "PUT",
        "?cors",
        '<CORSConfiguration xmlns="urn:evil"><CORSRule><AllowedMethod>GET</AllowedMethod>'
        "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
        "MalformedXML",
        _cors,
    ),
    (
        "PUT",
        "k?acl",
        '<AccessControlPolicy xmlns="urn:evil"><Owner><ID>x</ID></Owner>'
        "<AccessControlList/></AccessControlPolicy>",
        "MalformedACLError",
        lambda s3, bucket: s3.get_object_acl(Bucket=bucket, Key="k")["Grants"],
    ),
]


@pytest.mark.parametrize(
    ("method", "target", "document", "code", "state"),
    BODIES,
    ids=["object-tagging", "versioning", "cors", "acl"],
)
def test_every_body_type_in_another_namespace_changes_nothing(
    gateway: Gateway,
    s3: Any,
    bucket: str,
    method: str,
    target: str,
    document: str,
    code: str,
    state: Callable[[Any, str], object],
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="old=1")
    before = state(s3, bucket)
    assert _send(gateway, method, f"/{bucket}/{target}", document) == (400, code)
    assert state(s3, bucket) == before


def test_completion_in_another_namespace_completes_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    document = (
        '<CompleteMultipartUpload xmlns="urn:evil"><Part><PartNumber>1</PartNumber>'
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    )
    path = f"/{bucket}/k?uploadId={upload}"
    assert _send(gateway, "POST", path, document) == (400, "MalformedXML")
    assert _keys(s3, bucket) == []
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert _keys(s3, bucket) == ["k"]


DOC_NS = "http://doc.s3.amazonaws.com/2006-03-01"
"""The namespace AWS's PutBucketLogging reference gives its document that turns logging
off (``<BucketLoggingStatus xmlns="http://doc.s3.amazonaws.com/2006-03-01" />``), and the
one s3cmd's ``accesslog`` sends: S3's too, not a foreign one."""


def test_logging_off_in_the_namespace_aws_documents_for_it(
    gateway: Gateway, bucket: str, tmp_path: Path
) -> None:
    assert (
        _send(gateway, "PUT", f"/{bucket}?logging", f'<BucketLoggingStatus xmlns="{DOC_NS}"/>')[0]
        == 200
    )
    out = s3cmd(s3cmd_config(gateway, tmp_path), "accesslog", "--disable", f"s3://{bucket}")
    assert "Logging Enabled: False" in out, out
    assert _send(gateway, "PUT", f"/{bucket}?logging", '<BucketLoggingStatus xmlns="urn:x"/>') == (
        400,
        "MalformedXML",
    )
