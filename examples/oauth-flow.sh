#!/usr/bin/env bash
# nfyio-gateway OAuth 2.0: create a user and a client, log in (password grant), call the
# API and the S3 listener with the JWT, refresh (rotation), then revoke.
#
#   export NFYIO_ADMIN_SECRET=sk_...      # an admin key secret (or the root secret)
#   ./examples/oauth-flow.sh              # against `make run`
#
# NFYIO_API_URL / AWS_ENDPOINT_URL point it at another gateway (defaults
# http://localhost:3000 and http://localhost:7007). Needs curl and python3 (for JSON).
set -euo pipefail

API="${NFYIO_API_URL:-http://localhost:3000}"
S3="${AWS_ENDPOINT_URL:-http://localhost:7007}"
: "${NFYIO_ADMIN_SECRET:?set NFYIO_ADMIN_SECRET to an admin key secret}"
USERNAME="${NFYIO_OAUTH_USER:-demo-$(date +%s)}"
PASSWORD="${NFYIO_OAUTH_PASSWORD:-demo-password-$RANDOM$RANDOM}"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== create a user and a client (admin)"
curl -sS --fail-with-body -X POST "$API/v1/users" \
  -H "Authorization: Bearer $NFYIO_ADMIN_SECRET" -H "Content-Type: application/json" \
  -d "{\"username\": \"$USERNAME\", \"password\": \"$PASSWORD\", \"scopes\": [\"read:buckets\", \"read:objects\"]}" \
  > /dev/null
CLIENT="$(curl -sS --fail-with-body -X POST "$API/v1/clients" \
  -H "Authorization: Bearer $NFYIO_ADMIN_SECRET" -H "Content-Type: application/json" \
  -d '{"name": "oauth-flow example", "grant_types": ["password", "refresh_token"], "scopes": ["read:buckets", "read:objects"]}')"
CLIENT_ID="$(echo "$CLIENT" | json '["client_id"]')"
CLIENT_SECRET="$(echo "$CLIENT" | json '["client_secret"]')"

echo "== password grant"
TOKENS="$(curl -sS --fail-with-body -X POST "$API/oauth/token" \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -d grant_type=password \
  --data-urlencode "username=$USERNAME" \
  --data-urlencode "password=$PASSWORD" \
  -d "client_id=$CLIENT_ID" \
  -d "client_secret=$CLIENT_SECRET")"
ACCESS_TOKEN="$(echo "$TOKENS" | json '["access_token"]')"
REFRESH_TOKEN="$(echo "$TOKENS" | json '["refresh_token"]')"
echo "scope: $(echo "$TOKENS" | json '["scope"]'), expires_in: $(echo "$TOKENS" | json '["expires_in"]')"

echo "== use the JWT on the API and on the S3 listener"
curl -sS --fail-with-body "$API/v1/buckets" -H "Authorization: Bearer $ACCESS_TOKEN"; echo
curl -sS --fail-with-body "$S3/" -H "Authorization: Bearer $ACCESS_TOKEN" > /dev/null
echo "S3 ListBuckets with the JWT: ok"

echo "== refresh grant (the refresh token rotates)"
NEW_TOKENS="$(curl -sS --fail-with-body -X POST "$API/oauth/token" \
  -u "$CLIENT_ID:$CLIENT_SECRET" \
  -d grant_type=refresh_token \
  -d "refresh_token=$REFRESH_TOKEN")"
NEW_REFRESH="$(echo "$NEW_TOKENS" | json '["refresh_token"]')"
[ "$NEW_REFRESH" != "$REFRESH_TOKEN" ]
echo "new refresh token issued; the old one is spent"

echo "== revoke the session (RFC 7009) and check it (RFC 7662)"
curl -sS --fail-with-body -X POST "$API/oauth/revoke" -u "$CLIENT_ID:$CLIENT_SECRET" \
  -d "token=$NEW_REFRESH" -d token_type_hint=refresh_token
curl -sS --fail-with-body -X POST "$API/oauth/introspect" -u "$CLIENT_ID:$CLIENT_SECRET" \
  -d "token=$ACCESS_TOKEN"; echo
STATUS="$(curl -sS -o /dev/null -w '%{http_code}' "$API/v1/buckets" -H "Authorization: Bearer $ACCESS_TOKEN")"
[ "$STATUS" = 401 ]
echo "the access token of the revoked session is refused: $STATUS"
