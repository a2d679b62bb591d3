#!/usr/bin/env bash
# The seed's API-key flow with curl against `make run`: create a key with an admin token,
# list buckets with it as Bearer and as X-API-Key (REST API and S3 endpoint), rotate and
# revoke it, and print the boto3 line that uses the key pair.
#
#   export ADMIN_TOKEN=sk_...        # the secret of an admin key (banner at first start,
#                                    # NFYIO_ROOT_SECRET_KEY, or `nfyio-gateway keys create`)
#   ./examples/api-keys.sh
#
# NFYIO_API_URL / AWS_ENDPOINT_URL point it at another gateway (defaults
# http://localhost:3000 and http://localhost:7007). Needs curl and jq.
set -euo pipefail

API="${NFYIO_API_URL:-http://localhost:3000}"
S3="${AWS_ENDPOINT_URL:-http://localhost:7007}"
BUCKET="${NFYIO_BUCKET:-keys-demo-$(date +%s)}"
: "${ADMIN_TOKEN:?set ADMIN_TOKEN to an admin key secret}"

echo "== who am I (admin)"
curl -sS --fail-with-body "$API/v1/me" -H "Authorization: Bearer $ADMIN_TOKEN" | jq .

echo "== create a bucket"
curl -sS --fail-with-body -X POST "$API/v1/buckets" \
  -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H "Content-Type: application/json" \
  -d "{\"name\": \"$BUCKET\"}" | jq .

echo "== create an access key (the secret is shown only in this response)"
KEY_JSON="$(curl -sS --fail-with-body -X POST "$API/v1/access-keys" \
  -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"name": "my-app", "scopes": ["read:objects", "write:objects", "read:buckets"]}')"
echo "$KEY_JSON" | jq '{id, name, scopes, created_at, expires_at}'
KEY_ID="$(echo "$KEY_JSON" | jq -r .id)"
API_KEY="$(echo "$KEY_JSON" | jq -r .secret)"

echo "== list buckets with the key: Bearer, then X-API-Key (REST API)"
curl -sS --fail-with-body "$API/v1/buckets" -H "Authorization: Bearer $API_KEY" | jq -c .
curl -sS --fail-with-body "$API/v1/buckets" -H "X-API-Key: $API_KEY" | jq -c .

echo "== the same key on the S3 endpoint (ListBuckets XML)"
curl -sS --fail-with-body "$S3/" -H "Authorization: Bearer $API_KEY"; echo
curl -sS --fail-with-body "$S3/" -H "X-API-Key: $API_KEY"; echo

echo "== put and get an object with the key"
echo "Hello, nfyio!" | curl -sS --fail-with-body -X PUT "$S3/$BUCKET/hello.txt" \
  -H "Authorization: Bearer $API_KEY" --data-binary @-
curl -sS --fail-with-body "$S3/$BUCKET/hello.txt" -H "Authorization: Bearer $API_KEY"

echo "== use the pair with boto3:"
echo "   boto3.client('s3', endpoint_url='$S3', aws_access_key_id='$KEY_ID',"
echo "                aws_secret_access_key='<secret>', region_name='us-east-1')"

echo "== list keys (never a secret)"
curl -sS --fail-with-body "$API/v1/access-keys?limit=5" \
  -H "Authorization: Bearer $ADMIN_TOKEN" | jq -c '.access_keys[] | {id, name, status}'

echo "== rotate it (the old secret keeps working for 60 s)"
NEW_KEY="$(curl -sS --fail-with-body -X POST "$API/v1/access-keys/$KEY_ID/rotate" \
  -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H "Content-Type: application/json" -d '{"grace_seconds": 60}' | jq -r .secret)"
curl -sS --fail-with-body "$API/v1/me" -H "Authorization: Bearer $NEW_KEY" | jq -c '{key_id, scopes}'

echo "== revoke it: refused from the next request on"
curl -sS --fail-with-body -X DELETE "$API/v1/access-keys/$KEY_ID" \
  -H "Authorization: Bearer $ADMIN_TOKEN"
STATUS="$(curl -sS -o /dev/null -w '%{http_code}' "$API/v1/me" -H "Authorization: Bearer $NEW_KEY")"
echo "after revocation: HTTP $STATUS"
test "$STATUS" = 401

echo "== clean up"
curl -sS --fail-with-body -X DELETE "$S3/$BUCKET/hello.txt" -H "Authorization: Bearer $ADMIN_TOKEN"
curl -sS --fail-with-body -X DELETE "$API/v1/buckets/$BUCKET" -H "Authorization: Bearer $ADMIN_TOKEN"
echo "done"
