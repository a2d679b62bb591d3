#!/usr/bin/env bash
# nfyio-gateway from the aws CLI: mb, cp, ls, sync, presign, rm, rb.
#
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
#   ./examples/aws-cli.sh                                    # against `make run`
#
# AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007). For HTTPS
# with a private CA, export AWS_CA_BUNDLE=/path/to/ca.pem.
set -euo pipefail

ENDPOINT="${AWS_ENDPOINT_URL:-http://localhost:7007}"
BUCKET="${NFYIO_BUCKET:-cli-demo-$(date +%s)}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID to an nfyio access key id}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY to its secret}"

s3() { aws --endpoint-url "$ENDPOINT" s3 "$@"; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== make a bucket"
s3 mb "s3://$BUCKET"

echo "== copy a file up and back down"
echo "Hello, nfyio!" > "$WORK/hello.txt"
s3 cp "$WORK/hello.txt" "s3://$BUCKET/hello.txt"
s3 cp "s3://$BUCKET/hello.txt" "$WORK/hello.copy.txt"
cmp "$WORK/hello.txt" "$WORK/hello.copy.txt"

echo "== sync a directory tree"
mkdir -p "$WORK/site/css" "$WORK/site/img"
echo "<h1>hi</h1>" > "$WORK/site/index.html"
echo "body {}" > "$WORK/site/css/style.css"
head -c 2048 /dev/urandom > "$WORK/site/img/logo.bin"
# S3 keeps LastModified to the second, and sync uploads a file newer than its copy: files
# written in the second of their upload would go up again. Real trees are older.
find "$WORK/site" -type f -exec touch -d "1 minute ago" {} +
s3 sync "$WORK/site" "s3://$BUCKET/site"
s3 sync "$WORK/site" "s3://$BUCKET/site"   # nothing changed: copies nothing

echo "== list"
s3 ls
s3 ls "s3://$BUCKET"
s3 ls --recursive --summarize "s3://$BUCKET"

echo "== presign a GET URL valid for 5 minutes"
# aws-cli v2 presigns with SigV4; aws-cli v1 defaults to legacy SigV2 (the gateway accepts
# both) unless the profile sets `s3 = signature_version = s3v4`, which we ask for here.
if aws --version 2>&1 | grep -q '^aws-cli/1\.'; then
  printf '[default]\ns3 =\n    signature_version = s3v4\n' > "$WORK/sigv4.config"
  URL="$(env -u AWS_PROFILE AWS_CONFIG_FILE="$WORK/sigv4.config" \
    aws --endpoint-url "$ENDPOINT" s3 presign "s3://$BUCKET/hello.txt" --expires-in 300)"
else
  URL="$(s3 presign "s3://$BUCKET/hello.txt" --expires-in 300)"
fi
echo "$URL"
curl -fsS ${AWS_CA_BUNDLE:+--cacert "$AWS_CA_BUNDLE"} "$URL" -o "$WORK/hello.presigned.txt"
cmp "$WORK/hello.txt" "$WORK/hello.presigned.txt"
echo "presigned GET ok"

echo "== remove objects and the bucket"
s3 rm "s3://$BUCKET/hello.txt"
s3 rm --recursive "s3://$BUCKET/site"
s3 rb "s3://$BUCKET"      # `s3 rb --force` would empty a non-empty bucket first
echo "done"
