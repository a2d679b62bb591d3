#!/usr/bin/env python3
"""Presigned URLs with nfyio-gateway: hand out a PUT and a GET that need no credentials.

    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
    python examples/presigned-urls.py                        # against `make run`

The URLs are signed with AWS Signature V4 (query auth); each is valid for one method, one
object and ``ExpiresIn`` seconds (at most 7 days). AWS_ENDPOINT_URL points the script at
another gateway (default http://localhost:7007).
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")


def main() -> int:
    if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        print("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.")
        return 2
    # signature_version="s3v4": botocore otherwise presigns with legacy SigV2 (which the
    # gateway also accepts); SigV4 URLs are what current SDKs produce.
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    bucket = os.environ.get("NFYIO_BUCKET", f"presigned-demo-{int(time.time())}")
    key = "uploads/report 2025.txt"
    s3.create_bucket(Bucket=bucket)

    # 1. Someone without credentials uploads with a presigned PUT. A Content-Type that is
    #    part of the signature must be sent exactly as signed.
    put_url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentType": "text/plain"},
        ExpiresIn=600,
    )
    data = b"uploaded through a presigned URL\n"
    request = urllib.request.Request(
        put_url, data=data, method="PUT", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        print(f"presigned PUT -> {response.status}, ETag {response.headers['ETag']}")

    # 2. ...and downloads it with a presigned GET.
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
    )
    print(f"GET URL: {get_url}")
    with urllib.request.urlopen(get_url, timeout=30) as response:
        fetched = response.read()
        print(f"presigned GET -> {response.status}, {response.headers['Content-Type']}")
    assert fetched == data, fetched

    # 3. The GET URL is not a PUT URL: the signature covers the method.
    misuse = urllib.request.Request(get_url, data=b"overwrite", method="PUT")
    try:
        urllib.request.urlopen(misuse, timeout=30)
        raise AssertionError("a GET URL must not allow PUT")
    except urllib.error.HTTPError as error:
        print(f"PUT with the GET URL -> {error.code} (as expected)")
        assert error.code == 403

    s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    print(f"cleaned up {bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
