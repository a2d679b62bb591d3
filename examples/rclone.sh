#!/usr/bin/env bash
# nfyio-gateway from rclone: a remote defined in the environment (no config file), then
# mkdir, copy (multipart above the cutoff), check, ls, sync, server-side copy, purge.
#
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
#   ./examples/rclone.sh                                     # against `make run`
#
# AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007). For HTTPS
# with a private CA, export AWS_CA_BUNDLE=/path/to/ca.pem.
set -euo pipefail

: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID to an nfyio access key id}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY to its secret}"
BUCKET="${NFYIO_BUCKET:-rclone-demo-$(date +%s)}"

# The remote "nfyio": an S3 remote of provider Other. In a config file the same settings
# go under [nfyio] (type = s3, provider = Other, endpoint = ..., access_key_id = ...).
export RCLONE_CONFIG_NFYIO_TYPE=s3
export RCLONE_CONFIG_NFYIO_PROVIDER=Other
export RCLONE_CONFIG_NFYIO_ENDPOINT="${AWS_ENDPOINT_URL:-http://localhost:7007}"
export RCLONE_CONFIG_NFYIO_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export RCLONE_CONFIG_NFYIO_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
RCLONE=(rclone --config /dev/null)
if [ -n "${AWS_CA_BUNDLE:-}" ]; then RCLONE+=(--ca-cert "$AWS_CA_BUNDLE"); fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/photos/2026"
echo "Hello, nfyio!" > "$WORK/photos/hello.txt"
head -c 12000000 /dev/urandom > "$WORK/photos/2026/big.bin"

echo "== make a bucket and copy a tree up (big.bin in 5 MiB parts)"
"${RCLONE[@]}" mkdir "nfyio:$BUCKET"
"${RCLONE[@]}" copy "$WORK/photos" "nfyio:$BUCKET/photos" --s3-upload-cutoff 5M --s3-chunk-size 5M

echo "== check: sizes and MD5s against the local tree"
"${RCLONE[@]}" check "$WORK/photos" "nfyio:$BUCKET/photos"

echo "== list"
"${RCLONE[@]}" ls "nfyio:$BUCKET"

echo "== sync after a local delete removes it remotely too"
rm "$WORK/photos/hello.txt"
"${RCLONE[@]}" sync "$WORK/photos" "nfyio:$BUCKET/photos"
"${RCLONE[@]}" lsf -R --files-only "nfyio:$BUCKET"

echo "== server-side copy (no bytes through this machine)"
"${RCLONE[@]}" copyto "nfyio:$BUCKET/photos/2026/big.bin" "nfyio:$BUCKET/backup/big.bin"
"${RCLONE[@]}" md5sum "nfyio:$BUCKET"

echo "== purge the bucket"
"${RCLONE[@]}" purge "nfyio:$BUCKET"
echo "done"
