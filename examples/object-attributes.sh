#!/usr/bin/env bash
# nfyio-gateway from `aws s3api`: an upload with a checksum, a create-only and a
# compare-and-swap write (conditional writes), and get-object-attributes of a multipart
# object (its ETag, checksum, size, storage class and parts).
#
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
#   ./examples/object-attributes.sh                          # against `make run`
#
# AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007). For HTTPS
# with a private CA, export AWS_CA_BUNDLE=/path/to/ca.pem.
set -euo pipefail

ENDPOINT="${AWS_ENDPOINT_URL:-http://localhost:7007}"
BUCKET="${NFYIO_BUCKET:-attrs-demo-$(date +%s)}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID to an nfyio access key id}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY to its secret}"

api() { aws --endpoint-url "$ENDPOINT" s3api "$@"; }
# the aws CLI v1 prints JSON; pick one field with python (no jq needed)
field() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if k.isdigit() else v[k]
print(v)' "$@"
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

api create-bucket --bucket "$BUCKET" > /dev/null
echo "== bucket $BUCKET"

echo "== an upload with a SHA-256 checksum (the gateway verifies it, then keeps it)"
echo "Hello, nfyio!" > "$WORK/hello.txt"
api put-object --bucket "$BUCKET" --key hello.txt --body "$WORK/hello.txt" \
  --checksum-algorithm SHA256 | field ChecksumSHA256

echo "== create only if absent (If-None-Match: *)"
api put-object --bucket "$BUCKET" --key lock --body "$WORK/hello.txt" --if-none-match '*' > /dev/null
if api put-object --bucket "$BUCKET" --key lock --body "$WORK/hello.txt" \
    --if-none-match '*' > /dev/null 2> "$WORK/err"; then
  echo "unexpected: the second create succeeded"; exit 1
fi
grep -o PreconditionFailed "$WORK/err"

echo "== replace only the version we read (If-Match: <etag>)"
ETAG="$(api head-object --bucket "$BUCKET" --key lock | field ETag)"
echo "v2" > "$WORK/v2.txt"
api put-object --bucket "$BUCKET" --key lock --body "$WORK/v2.txt" --if-match "$ETAG" > /dev/null
echo "replaced $ETAG"

echo "== a 12 MiB multipart upload with CRC32 parts (aws s3 cp: 8 MiB parts)"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$WORK/big.bin"
aws --endpoint-url "$ENDPOINT" s3 cp "$WORK/big.bin" "s3://$BUCKET/big.bin" \
  --checksum-algorithm CRC32 > /dev/null

echo "== get-object-attributes"
api get-object-attributes --bucket "$BUCKET" --key big.bin \
  --object-attributes ETag Checksum ObjectSize StorageClass ObjectParts > "$WORK/attrs.json"
echo "size $(field ObjectSize < "$WORK/attrs.json")"
echo "parts $(field ObjectParts TotalPartsCount < "$WORK/attrs.json")"
echo "checksum type $(field Checksum ChecksumType < "$WORK/attrs.json")"
api get-object-attributes --bucket "$BUCKET" --key big.bin --object-attributes ObjectParts \
  --max-parts 1 --part-number-marker 1 | field ObjectParts Parts 0 PartNumber

echo "== clean up"
aws --endpoint-url "$ENDPOINT" s3 rb "s3://$BUCKET" --force > /dev/null
echo "done"
