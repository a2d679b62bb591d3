"""Class: a CompleteMultipartUpload that began before another completion of its upload
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
import socket
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import sign

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _public(s3: Any, bucket: str, key: str) -> bool:
    grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS for g in grants)


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def _read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """(status head, body) of a response that ends with the connection."""
    head = _read_head(sock)
    body = b""
    while chunk := sock.recv(65536):
        body += chunk
    return head, body


def test_a_completion_authorised_before_another_ended_keeps_the_objects_acl(
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
    headers.update(
        {
            "Host": f"127.0.0.1:{gateway.s3_port}",
            "Content-Length": str(len(body)),
            "Expect": "100-continue",
            "Connection": "close",
        }
    )
    with socket.create_connection(("127.0.0.1", gateway.s3_port), timeout=60) as late:
        lines = [f"POST {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        late.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        interim = _read_head(late)
        assert interim.startswith(b"HTTP/1.1 100"), interim  # authorised: the upload's row read

        first = s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        assert _public(s3, bucket, "k")
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")

        late.sendall(body)
        head, answer = _read_answer(late)
    assert head.startswith(b"HTTP/1.1 200"), head + answer
    assert first["ETag"].encode() in answer.replace(b"&quot;", b'"')
    assert not _public(s3, bucket, "k")
