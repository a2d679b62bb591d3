"""A public website bucket: anyone can read it without credentials, nobody can write.

A bucket policy grants ``s3:GetObject`` on every object to ``"*"``; plain anonymous
HTTP GETs (a browser, curl) then read the pages. A public access block on the bucket
takes the public policy away again, as it does on AWS. Runs against AWS_ENDPOINT_URL
(default http://localhost:7007) with an access key in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, and removes what it made.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config

S3 = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")
BUCKET = os.environ.get("NFYIO_BUCKET", f"site-{uuid.uuid4().hex[:12]}")


def anonymous(method: str, key: str, body: bytes | None = None) -> str:
    """What a browser gets: the status, and the page for a 200 GET."""
    request = urllib.request.Request(f"{S3}/{BUCKET}/{key}", method=method, data=body)
    try:
        with urllib.request.urlopen(request) as response:
            return f"{response.status} {response.read()!r}"
    except urllib.error.HTTPError as exc:
        return str(exc.code)


s3 = boto3.client(
    "s3", endpoint_url=S3, region_name="us-east-1", config=Config(s3={"addressing_style": "path"})
)
s3.create_bucket(Bucket=BUCKET)
s3.put_object(
    Bucket=BUCKET, Key="index.html", Body=b"<h1>Hello from nfyio</h1>\n", ContentType="text/html"
)
print(f"before the policy, anonymous GET index.html -> {anonymous('GET', 'index.html')}")

s3.put_bucket_policy(
    Bucket=BUCKET,
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/*",
                }
            ],
        }
    ),
)
status = s3.get_bucket_policy_status(Bucket=BUCKET)["PolicyStatus"]["IsPublic"]
print(f"policy status: IsPublic={status}")
print(f"anonymous GET index.html -> {anonymous('GET', 'index.html')}")
print(f"anonymous PUT evil.html -> {anonymous('PUT', 'evil.html', b'defaced')}")

s3.put_public_access_block(
    Bucket=BUCKET,
    PublicAccessBlockConfiguration={
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    },
)
print(f"with a public access block, anonymous GET index.html -> {anonymous('GET', 'index.html')}")

s3.delete_public_access_block(Bucket=BUCKET)
s3.delete_bucket_policy(Bucket=BUCKET)
s3.delete_object(Bucket=BUCKET, Key="index.html")
s3.delete_bucket(Bucket=BUCKET)
print(f"cleaned up {BUCKET}")
