#!/usr/bin/env python3
"""Versioning with boto3: keep every version, survive a delete, restore an old version.

    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
    python examples/restore-version.py                       # against `make run`

The key needs write:buckets (to turn versioning on), read:objects, write:objects and
delete:objects. AWS_ENDPOINT_URL points it at another gateway (default
http://localhost:7007); for HTTPS with a private CA set AWS_CA_BUNDLE=/path/to/ca.pem.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")


def main() -> int:
    if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        print("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.")
        return 2
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = os.environ.get("NFYIO_BUCKET", f"versions-demo-{int(time.time())}")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    print(f"versioning {s3.get_bucket_versioning(Bucket=bucket)['Status']} on {bucket}")

    # Every write keeps the previous version.
    first = s3.put_object(Bucket=bucket, Key="config.json", Body=b'{"mode": "safe"}\n')
    s3.put_object(Bucket=bucket, Key="config.json", Body=b'{"mode": "oops"}\n')
    print(f"wrote two versions; the first is {first['VersionId']}")

    # A plain DELETE only adds a delete marker: the key looks gone...
    marker = s3.delete_object(Bucket=bucket, Key="config.json")
    print(f"deleted: delete marker {marker['VersionId']}")
    try:
        s3.get_object(Bucket=bucket, Key="config.json")
    except ClientError as exc:
        print(f"GET now answers {exc.response['Error']['Code']}")

    # ...but every version is still listed.
    listing = s3.list_object_versions(Bucket=bucket, Prefix="config.json")
    for version in listing.get("Versions", []):
        print(f"  version {version['VersionId']} latest={version['IsLatest']}")
    for dm in listing.get("DeleteMarkers", []):
        print(f"  delete marker {dm['VersionId']} latest={dm['IsLatest']}")

    # Restore the first version: copy it onto the key (a new, latest version).
    restored = s3.copy_object(
        Bucket=bucket,
        Key="config.json",
        CopySource={"Bucket": bucket, "Key": "config.json", "VersionId": first["VersionId"]},
    )
    body = s3.get_object(Bucket=bucket, Key="config.json")["Body"].read()
    print(f"restored {restored['CopySourceVersionId']} as {restored['VersionId']}: {body!r}")

    # Clean up: a versioned bucket is empty only once every version and marker is gone.
    everything = s3.list_object_versions(Bucket=bucket)
    entries = everything.get("Versions", []) + everything.get("DeleteMarkers", [])
    s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]},
    )
    s3.delete_bucket(Bucket=bucket)
    print(f"cleaned up {bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
