"""``POST /v1/buckets/{name}/objects/presign``: a SigV4 presigned GET URL for the S3
listener, signed with the caller's own access key.

Decision: a presigned URL is a bearer capability that the S3 listener verifies against an
access key's secret, and it acts with that key's rights until it expires. The gateway signs
only with the key the caller authenticated with, so the URL never grants more than the
caller holds (its scopes, bucket limits, expiry and revocation all apply when the URL is
used). A caller without a key (an OAuth user's or client's token) gets 403
``AccessDenied`` with ``details.required_credential = "access_key"``: minting a hidden key
for it would create a credential nobody can list or revoke. The expiry is at most 7 days
(SigV4's limit) and never past the key's own expiry. See docs/console.md.

:func:`presigned_get` is the pure signer (``sigv4`` primitives, the clock a parameter);
:func:`s3_endpoint_url` is where users reach the S3 listener (also used by the console
for SDK snippets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from aiohttp import web
from yarl import URL

from gateway.api.access_keys import iso
from gateway.api.auth import PRINCIPAL
from gateway.api.buckets import path_bucket
from gateway.api.errors import ApiError
from gateway.api.objects import checked_key
from gateway.api.validation import optional_int, read_json_object, required_str
from gateway.config import Config
from gateway.peer import client_origin
from gateway.state import CONFIG, IDENTITY
from sigv4 import canonical_request, scope, sign, signing_key, string_to_sign
from sigv4.auth import MAX_PRESIGN_EXPIRES

__all__ = [
    "DEFAULT_EXPIRES",
    "PresignInput",
    "presign_object",
    "presigned_get",
    "s3_endpoint_url",
]

DEFAULT_EXPIRES = 3600
_UNSIGNED = "UNSIGNED-PAYLOAD"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class PresignInput:
    endpoint: str
    """``scheme://host[:port]`` of the S3 listener as clients reach it."""
    bucket: str
    key: str
    access_key_id: str
    secret: str
    region: str
    expires: int
    now: datetime


def _host_header(url: URL) -> str:
    """The ``Host`` a client sends for ``url`` (default ports left out)."""
    host = url.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    port = url.explicit_port
    if port is None or port == _DEFAULT_PORTS.get(url.scheme):
        return host
    return f"{host}:{port}"


def presigned_get(item: PresignInput) -> str:
    """A path-style SigV4 query-signed GET URL (what boto3's ``generate_presigned_url``
    makes), signing only the ``host`` header with an unsigned payload."""
    base = URL(item.endpoint)
    base_path = base.raw_path.rstrip("/")
    raw_path = f"{base_path}/{item.bucket}/{quote(item.key, safe='/~')}"
    amz_date = item.now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    credential_scope = scope(amz_date[:8], item.region, "s3")
    query = urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{item.access_key_id}/{credential_scope}",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(item.expires),
            "X-Amz-SignedHeaders": "host",
        },
        quote_via=quote,
        safe="",
    )
    host = _host_header(base)
    request = canonical_request("GET", raw_path, query, (("host", host),), ("host",), _UNSIGNED)
    signature = sign(
        signing_key(item.secret, amz_date[:8], item.region, "s3"),
        string_to_sign(amz_date, credential_scope, request),
    )
    origin = f"{base.scheme}://{host}"
    return f"{origin}{raw_path}?{query}&X-Amz-Signature={signature}"


def s3_endpoint_url(request: web.Request, config: Config) -> str:
    """``console.s3_endpoint`` when set; else the scheme and host this request came to
    (``X-Forwarded-Proto`` / ``-Host`` behind a trusted proxy) with ``server.s3_port``."""
    if config.console.s3_endpoint:
        return config.console.s3_endpoint.rstrip("/")
    scheme, host = client_origin(request, trusted=config.server.trusted_forwarded_headers)
    try:
        hostname = URL(f"{scheme}://{host}").raw_host or "localhost"
    except ValueError:
        hostname = "localhost"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{config.server.s3_port}"


async def presign_object(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    # Signing asks the backend nothing: path_bucket looks a bucket without a recorded
    # owner up, so that a bucket nobody has is 404 for the system account too.
    bucket = await path_bucket(request, backend_answers_missing=False)
    body = await read_json_object(request, allowed=("key", "expires_in"))
    key = checked_key(required_str(body, "key"))
    expires_in = optional_int(body, "expires_in", minimum=1, maximum=MAX_PRESIGN_EXPIRES)
    now = datetime.now(UTC).replace(microsecond=0)
    found = (
        None
        if principal.key_id is None
        else await request.app[IDENTITY].sigv4_secrets(principal.key_id, now)
    )
    if found is None:
        raise ApiError(
            403,
            "AccessDenied",
            "Presigned URLs are signed with an access key: sign in with an access key "
            "(or create one) to make them",
            {"required_credential": "access_key"},
        )
    key_info, secrets = found
    seconds = expires_in or DEFAULT_EXPIRES
    # capped by the caller's credential (a previous secret in its rotation grace period
    # ends before the key), and by the key whose secret signs the URL
    ends = [e for e in (principal.expires_at, key_info.expires_at) if e is not None]
    if ends:
        seconds = min(seconds, int((min(ends) - now).total_seconds()))
        if seconds < 1:
            raise ApiError(401, "InvalidApiKey", "The API key is unknown, revoked or expired")
    config = request.app[CONFIG]
    url = presigned_get(
        PresignInput(
            endpoint=s3_endpoint_url(request, config),
            bucket=bucket,
            key=key,
            access_key_id=key_info.id,
            secret=secrets[0],
            region=config.s3.region,
            expires=seconds,
            now=now,
        )
    )
    return web.json_response(
        {
            "url": url,
            "method": "GET",
            "expires_at": iso(now + timedelta(seconds=seconds)),
            "access_key_id": key_info.id,
        }
    )
