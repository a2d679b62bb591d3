"""Share one prefix of a bucket with another account, and nothing else.

Needs the gateway's root key (only the root key manages accounts) in
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the S3 endpoint in AWS_ENDPOINT_URL
(default http://localhost:7007) and the REST endpoint in NFYIO_API_URL (default
http://localhost:3000). It creates a second account, grants it read access to
``shared/`` with a bucket policy, shows what the partner can and cannot do, then removes
everything it made.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

S3 = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")
API = os.environ.get("NFYIO_API_URL", "http://localhost:3000")
ROOT_SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
BUCKET = os.environ.get("NFYIO_BUCKET", f"shared-{uuid.uuid4().hex[:12]}")


def rest(method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    """A /v1 call with the root key as a Bearer credential."""
    request = urllib.request.Request(
        API + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {ROOT_SECRET}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
    return json.loads(text) if text else {}


def s3(access_key: str | None = None, secret_key: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=S3,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )


def refused(call) -> str:  # type: ignore[no-untyped-def]
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "allowed"


owner = s3()
partner_account = rest("POST", "/v1/accounts", {"name": f"partner-{uuid.uuid4().hex[:6]}"})
admin_key = partner_account["admin_key"]
assert isinstance(admin_key, dict)
partner = s3(str(admin_key["id"]), str(admin_key["secret"]))
print(f"created account {partner_account['id']} (canonical id {partner_account['canonical_id']})")

owner.create_bucket(Bucket=BUCKET)
owner.put_object(Bucket=BUCKET, Key="shared/report.csv", Body=b"quarter,revenue\nq1,42\n")
owner.put_object(Bucket=BUCKET, Key="private/salaries.csv", Body=b"secret\n")
outcome = refused(lambda: partner.get_object(Bucket=BUCKET, Key="shared/report.csv"))
print(f"partner before the policy: {outcome}")

policy = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PartnerReadsShared",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{partner_account['id']}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/shared/*",
        },
        {
            "Sid": "PartnerListsShared",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{partner_account['id']}:root"},
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringLike": {"s3:prefix": "shared/*"}},
        },
    ],
}
owner.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
body = partner.get_object(Bucket=BUCKET, Key="shared/report.csv")["Body"].read()
print(f"partner reads shared/report.csv: {body!r}")
listed = partner.list_objects_v2(Bucket=BUCKET, Prefix="shared/")
print(f"partner lists shared/: {[o['Key'] for o in listed.get('Contents', [])]}")
outcome = refused(lambda: partner.get_object(Bucket=BUCKET, Key="private/salaries.csv"))
print(f"partner reads private/salaries.csv: {outcome}")
outcome = refused(lambda: partner.list_objects_v2(Bucket=BUCKET))
print(f"partner lists the whole bucket: {outcome}")
outcome = refused(lambda: partner.put_object(Bucket=BUCKET, Key="shared/x", Body=b"x"))
print(f"partner writes shared/x: {outcome}")
names = [b["Name"] for b in partner.list_buckets()["Buckets"]]
print(f"partner's ListBuckets shows it: {BUCKET in names}")

owner.delete_bucket_policy(Bucket=BUCKET)
for key in ("shared/report.csv", "private/salaries.csv"):
    owner.delete_object(Bucket=BUCKET, Key=key)
owner.delete_bucket(Bucket=BUCKET)
rest("DELETE", f"/v1/accounts/{partner_account['id']}")
print(f"cleaned up {BUCKET} and the partner account")
