"""A CompleteMultipartUpload racing an UploadPart of one of its parts (filesystem backend).

The completion joins the part files, then commits if the parts it chose are still the
upload's. An UploadPart that replaced one meanwhile used to fail the completion with 404
``NoSuchUpload`` although the upload was still there (and the client, told it was gone,
would start over). Now the completion checks the parts again: a listed ETag that no longer
matches is ``InvalidPart``, as it is for a part replaced before the completion began.
Whatever the interleaving, every round must end in one of S3's outcomes; no round may
answer ``NoSuchUpload`` for an upload that ListParts still shows.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique

MIB = 1024 * 1024
ROUNDS = 4
PART = 16 * MIB
"""Large enough that joining the parts takes longer than a one-byte UploadPart."""


def _outcome(call: Any, **kwargs: Any) -> str:
    try:
        call(**kwargs)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "OK"


def _race(s3: Any, common: dict[str, str], parts: list[dict[str, Any]]) -> dict[str, str]:
    """The completion and an UploadPart replacing part 2, started together: each answer."""
    start = threading.Barrier(2)
    answers: dict[str, str] = {}

    def complete() -> None:
        start.wait()
        answers["complete"] = _outcome(
            s3.complete_multipart_upload, **common, MultipartUpload={"Parts": parts}
        )

    def replace() -> None:
        start.wait()
        answers["part"] = _outcome(s3.upload_part, **common, PartNumber=2, Body=b"x")

    threads = [threading.Thread(target=complete), threading.Thread(target=replace)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_part_replaced_during_the_completion_is_never_no_such_upload(
    gateway: Gateway,
) -> None:
    s3 = gateway.client(max_pool_connections=4)
    bucket = unique()
    s3.create_bucket(Bucket=bucket)
    first, second = os.urandom(PART), os.urandom(PART)
    for round_ in range(ROUNDS):
        key = f"k{round_}"
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        common = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        parts = [
            {"PartNumber": n, "ETag": s3.upload_part(**common, PartNumber=n, Body=data)["ETag"]}
            for n, data in ((1, first), (2, second))
        ]
        answers = _race(s3, common, parts)
        if answers["complete"] == "OK":
            # the completion committed first: the object is the listed parts, the late
            # part found no upload
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert body == first + second
            assert answers["part"] == "NoSuchUpload"
        else:
            # the part was replaced first: the listed ETag is stale, the upload stays
            assert answers == {"complete": "InvalidPart", "part": "OK"}, answers
            listed = s3.list_parts(**common)["Parts"]
            assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, PART), (2, 1)]
            s3.abort_multipart_upload(**common)
