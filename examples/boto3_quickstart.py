#!/usr/bin/env python3
"""nfyio-gateway from boto3: bucket, put, get, list, presigned URL, multipart upload.

    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
    python examples/boto3_quickstart.py                      # against `make run`

AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007); for HTTPS
with a private CA, set AWS_CA_BUNDLE=/path/to/ca.pem (boto3 reads it).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")
MiB = 1024 * 1024


def main() -> int:
    if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        print("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.")
        return 2

    # Credentials come from the environment; the gateway wants path-style addressing.
    # signature_version="s3v4" makes presigned URLs SigV4 too: without it botocore presigns
    # with the legacy SigV2 query scheme (which the gateway also accepts).
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )

    bucket = os.environ.get("NFYIO_BUCKET", f"boto3-quickstart-{int(time.time())}")
    s3.create_bucket(Bucket=bucket)
    print(f"created bucket {bucket}")
    print("buckets:", ", ".join(b["Name"] for b in s3.list_buckets()["Buckets"]))

    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"Hello, nfyio!\n", ContentType="text/plain")
    body = s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read()
    assert body == b"Hello, nfyio!\n", body
    print(f"got hello.txt: {body!r}")

    # upload_file switches to a multipart upload above multipart_threshold.
    transfer = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "large.bin"
        source.write_bytes(os.urandom(12 * MiB))
        s3.upload_file(str(source), bucket, "large.bin", Config=transfer)
        etag = s3.head_object(Bucket=bucket, Key="large.bin")["ETag"]
        print(f"multipart upload done, ETag {etag}")
        copy = Path(tmp) / "large.copy"
        s3.download_file(bucket, "large.bin", str(copy), Config=transfer)
        same = (
            hashlib.sha256(source.read_bytes()).digest()
            == hashlib.sha256(copy.read_bytes()).digest()
        )
        assert same, "downloaded bytes differ"
        print("downloaded large.bin, bytes match")

    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        print(f"  {item['Key']}  {item['Size']} bytes")

    # A presigned URL needs no credentials: anyone holding it can GET for 5 minutes.
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "hello.txt"}, ExpiresIn=300
    )
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == body
    print("presigned GET ok")

    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
    print(f"cleaned up {bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
