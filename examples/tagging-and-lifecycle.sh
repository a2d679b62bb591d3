#!/usr/bin/env bash
# nfyio-gateway from the aws CLI: object and bucket tags, and a bucket lifecycle
# configuration (expire temporary files, clean up old versions and stale uploads).
#
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
#   ./examples/tagging-and-lifecycle.sh                      # against `make run`
#
# AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007). For HTTPS
# with a private CA, export AWS_CA_BUNDLE=/path/to/ca.pem.
set -euo pipefail

ENDPOINT="${AWS_ENDPOINT_URL:-http://localhost:7007}"
BUCKET="${NFYIO_BUCKET:-tags-demo-$(date +%s)}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID to an nfyio access key id}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY to its secret}"

s3api() { aws --endpoint-url "$ENDPOINT" s3api "$@"; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== a bucket and two objects, one tagged as it is written"
s3api create-bucket --bucket "$BUCKET" >/dev/null
echo "report" > "$WORK/report.txt"
s3api put-object --bucket "$BUCKET" --key reports/q1.txt --body "$WORK/report.txt" \
  --tagging "team=finance&retention=long" >/dev/null
s3api put-object --bucket "$BUCKET" --key tmp/scratch.txt --body "$WORK/report.txt" >/dev/null

echo "== tag an existing object, read its tags back"
s3api put-object-tagging --bucket "$BUCKET" --key tmp/scratch.txt \
  --tagging 'TagSet=[{Key=class,Value=scratch}]'
s3api get-object-tagging --bucket "$BUCKET" --key tmp/scratch.txt --output text
s3api get-object-tagging --bucket "$BUCKET" --key reports/q1.txt --output text

echo "== tag the bucket"
s3api put-bucket-tagging --bucket "$BUCKET" \
  --tagging 'TagSet=[{Key=project,Value=demo},{Key=owner,Value=ops}]'
s3api get-bucket-tagging --bucket "$BUCKET" --output text

echo "== a lifecycle configuration"
# Days count from the object's creation, rounded up to the next midnight UTC, as on AWS.
cat > "$WORK/lifecycle.json" <<'JSON'
{
  "Rules": [
    {
      "ID": "expire-scratch",
      "Status": "Enabled",
      "Filter": {"Tag": {"Key": "class", "Value": "scratch"}},
      "Expiration": {"Days": 1}
    },
    {
      "ID": "tmp-after-a-week",
      "Status": "Enabled",
      "Filter": {"Prefix": "tmp/"},
      "Expiration": {"Days": 7}
    },
    {
      "ID": "old-versions-and-uploads",
      "Status": "Enabled",
      "Filter": {"Prefix": ""},
      "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 3},
      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}
    }
  ]
}
JSON
s3api put-bucket-lifecycle-configuration --bucket "$BUCKET" \
  --lifecycle-configuration "file://$WORK/lifecycle.json"
s3api get-bucket-lifecycle-configuration --bucket "$BUCKET" --query 'Rules[].ID' --output text

echo "== when does tmp/scratch.txt expire? (x-amz-expiration, the earliest rule)"
s3api head-object --bucket "$BUCKET" --key tmp/scratch.txt --query Expiration --output text

echo "== clean up"
s3api delete-bucket-lifecycle --bucket "$BUCKET"
s3api delete-bucket-tagging --bucket "$BUCKET"
s3api delete-object-tagging --bucket "$BUCKET" --key tmp/scratch.txt
s3api delete-object --bucket "$BUCKET" --key tmp/scratch.txt
s3api delete-object --bucket "$BUCKET" --key reports/q1.txt
s3api delete-bucket --bucket "$BUCKET"
echo "done"
