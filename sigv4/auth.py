"""Header and presigned (query) authentication: parse what the request claims, then verify.

:func:`parse_auth` needs no secret: it tells the caller which access key to look up.
:func:`verify` then checks scope, time and signature with that key's secret.

Payload hash rules (what goes on the canonical request's last line):

* header auth: the ``x-amz-content-sha256`` header; when absent, the SHA-256 of the
  empty body (a generic SigV4 client signing a body-less request), so a body sent with
  such a request fails the hex SHA-256 check of :class:`sigv4.payload.PayloadPipeline`.
* presigned: the ``X-Amz-Content-Sha256`` query parameter; else the
  ``x-amz-content-sha256`` header if it is among the signed headers; else
  ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from hmac import compare_digest
from typing import Literal

from sigv4.canonical import canonical_request
from sigv4.coverage import check_signed_headers
from sigv4.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SigV4Error,
    only_one_auth_mechanism,
)
from sigv4.memo import remember
from sigv4.modes import UNSIGNED_PAYLOAD, PayloadMode, payload_mode
from sigv4.records import record
from sigv4.request import (
    Headers,
    SignedRequest,
    decode_query,
    get_header,
    header_map,
    repeated_header,
)
from sigv4.signing import ALGORITHM, EMPTY_SHA256, scope, sign, signing_key, string_to_sign

__all__ = ["MAX_PRESIGN_EXPIRES", "AuthInfo", "VerifiedRequest", "parse_auth", "verify"]


MAX_PRESIGN_EXPIRES = 604800  # seven days, in seconds
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z", re.ASCII)
_CRED_DATE = re.compile(r"\d{8}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_EXPIRES = re.compile(r"-?[0-9]+", re.ASCII)
_SDK_VALUE = r"([^,=\t\n\x0b\x0c\r ]+)"
"""``[^,\\s=]+`` under ``re.ASCII`` (whose ``\\s`` is exactly these six characters),
spelled as literals: a class of literals compiles to a bitmap, one test per character,
where the ``\\s`` category is tested character by character (the header's ~200
characters: 2.2 -> 1.6 us a match)."""
_SDK_AUTHORIZATION = re.compile(
    f"AWS4-HMAC-SHA256 Credential={_SDK_VALUE}, ?SignedHeaders={_SDK_VALUE},"
    f" ?Signature={_SDK_VALUE}"
)
"""The Authorization header as the SDKs write it; anything else takes the general parse."""
_COMPONENTS = ("Credential", "SignedHeaders", "Signature")
"""The Authorization header's components; any other is ``AuthorizationHeaderMalformed``."""
_UNSUPPORTED = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
_QUERY_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


@record
class AuthInfo:
    """What a SigV4 request claims, parsed before the secret is known."""

    kind: Literal["header", "query"]
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    expires: int | None
    payload_hash: str
    amz_date_text: str
    """``amz_date`` in the ISO 8601 basic form the string to sign carries (the header's
    or parameter's own text when it was given in that form)."""
    security_token: str | None = None
    """``x-amz-security-token`` (header, or ``X-Amz-Security-Token`` parameter when
    presigned): a session credential's token, for the server to accept or refuse. An
    empty one is None: a credential without a token (``AWS_SESSION_TOKEN=""`` makes the
    ``object_store`` crate send the header empty; MinIO reads it so too)."""


@record
class VerifiedRequest:
    """A request whose signature matched: what the body verifier needs."""

    access_key_id: str
    region: str
    amz_date: str
    scope: str
    signing_key: bytes
    seed_signature: str
    payload_mode: PayloadMode
    payload_hash: str | None


def _parse_amz_date(value: str, error: type[SigV4Error]) -> datetime:
    # The fields by position (what strptime with AMZ_DATE_FORMAT reads, at a tenth of
    # its cost on every signed request); datetime() refuses what strptime refuses.
    # Every request signed in the same second carries the same text: remembered.
    known = _amz_dates.get(value)
    if known is not None:
        return known
    if _AMZ_DATE.fullmatch(value):
        try:
            parsed = datetime(
                int(value[0:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[9:11]),
                int(value[11:13]),
                int(value[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            pass
        else:
            return remember(_amz_dates, value, parsed, _PARSED_LIMIT)
    raise error(
        f"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\": {value!r}"
    )


_PARSED_LIMIT = 256
"""Distinct ``Credential``, ``SignedHeaders`` and ``X-Amz-Date`` values remembered (a
client sends the same few on every request, a new date once a second); each memo is
emptied when full, so it stays bounded whatever is sent. Only well-formed values are
remembered: a malformed one is refused each time it is sent."""
_REMEMBERED_CHARS = 1024
"""The longest ``Credential`` or ``SignedHeaders`` value remembered (an SDK's are a few
hundred characters at most). A longer one (a presigned URL's query may hold 64 KiB of
``X-Amz-SignedHeaders``, before any key is known) is parsed each time it is sent: 256 of
them kept would hold ~250 MB, 256 of these at most a few MB."""
_credentials: dict[str, tuple[str, str, str, str]] = {}
_amz_dates: dict[str, datetime] = {}
_signed_header_lists: dict[str, tuple[str, ...]] = {}


def _parse_credential(value: str, error: type[SigV4Error]) -> tuple[str, str, str, str]:
    known = _credentials.get(value)
    if known is not None:
        return known
    parts = value.split("/")
    if len(parts) != 5 or not parts[0]:
        raise error(
            f"Error parsing the Credential parameter; {value!r} is not of the form "
            "<access-key-id>/<date>/<region>/<service>/aws4_request"
        )
    access_key_id, date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise error(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not {terminator!r}"
        )
    if not _CRED_DATE.fullmatch(date):
        raise error(f"Error parsing the Credential date {date!r}; expected yyyyMMdd")
    if not region or not service:
        raise error("Credential is missing its region or service")
    if len(value) > _REMEMBERED_CHARS:
        return access_key_id, date, region, service
    return remember(_credentials, value, (access_key_id, date, region, service), _PARSED_LIMIT)


def _parse_signed_headers(value: str, error: type[SigV4Error]) -> tuple[str, ...]:
    known = _signed_header_lists.get(value)
    if known is not None:
        return known
    names = tuple(name.strip().lower() for name in value.split(";"))
    if not value or any(not name for name in names):
        raise error(f"SignedHeaders is malformed: {value!r}")
    if len(value) > _REMEMBERED_CHARS:
        return names
    return remember(_signed_header_lists, value, names, _PARSED_LIMIT)


def _authorization_fields(authorization: str) -> tuple[str, str, str]:
    """``Credential``, ``SignedHeaders`` and ``Signature`` of an Authorization header
    (already stripped, ``AWS4-HMAC-SHA256`` first)."""
    sdk_form = _SDK_AUTHORIZATION.fullmatch(authorization)
    if sdk_form is not None:
        # What every SDK sends: the general parse below would find the same three values.
        credential, signed_headers, signature = sdk_form.groups()
        return credential, signed_headers, signature
    error = AuthorizationHeaderMalformed
    fields: dict[str, str] = {}
    for part in authorization[len(ALGORITHM) :].split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise error(
                f"The authorization header is malformed; invalid component {part.strip()!r}"
            )
        name = key.strip()
        if name not in _COMPONENTS:
            # S3 refuses a component it does not know rather than skipping it: a client
            # or proxy that adds one (or misspells one) must not see it silently ignored.
            raise error(
                f"The authorization header is malformed; the authorization component "
                f'"{part.strip()}" is malformed.'
            )
        if name in fields:
            # Which of two Credentials (or Signatures) the request stands for would be
            # the parser's choice (the last, here), and a proxy in front may read the
            # first: its rate limits and logs would name another key than ours.
            raise error(f"The authorization header is malformed; {name} is given twice")
        fields[name] = value.strip()
    missing = [k for k in _COMPONENTS if k not in fields]
    if missing:
        raise error(f"The authorization header is malformed; missing {', '.join(missing)}")
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _parse_header_auth(authorization: str, found: Mapping[str, str]) -> AuthInfo:
    """Header auth from the Authorization header and ``found``, the request's header map
    (lower-case names to first values: ``header_map``)."""
    error = AuthorizationHeaderMalformed
    credential, signed_list, signature = _authorization_fields(authorization)
    access_key_id, date, region, service = _parse_credential(credential, error)
    signed_headers = _parse_signed_headers(signed_list, error)
    if not _SIGNATURE.fullmatch(signature):
        raise error("The authorization header is malformed; Signature must be 64 hex digits")

    x_amz_date = found.get("x-amz-date")
    if x_amz_date is not None:
        amz_date_text = x_amz_date.strip()
        amz_date = _parse_amz_date(amz_date_text, AccessDenied)
    else:
        date_header = found.get("date")
        if date_header is None:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        try:
            amz_date = parsedate_to_datetime(date_header)
            # An offset can carry the instant outside the years 1 to 9999 in UTC
            # (``Fri, 31 Dec 9999 23:59:59 -1200``): OverflowError, not a date.
            amz_date = (
                amz_date.replace(tzinfo=UTC)
                if amz_date.tzinfo is None
                else amz_date.astimezone(UTC)
            )
        except (TypeError, ValueError, OverflowError):
            raise AccessDenied(
                "AWS authentication requires a valid Date or x-amz-date header"
            ) from None
        amz_date_text = amz_date.strftime(AMZ_DATE_FORMAT)

    content_sha = found.get("x-amz-content-sha256")
    return AuthInfo(
        kind="header",
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=signature,
        amz_date=amz_date,
        expires=None,
        payload_hash=content_sha.strip() if content_sha is not None else EMPTY_SHA256,
        amz_date_text=amz_date_text,
        security_token=found.get("x-amz-security-token") or None,
    )


def _parse_query_auth(
    request: SignedRequest, params: dict[str, str], found: Mapping[str, str]
) -> AuthInfo:
    error = AuthorizationQueryParametersError
    missing = [name for name in _QUERY_REQUIRED if name not in params]
    if missing:
        raise error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            f"X-Amz-Expires parameters (missing: {', '.join(missing)})."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    access_key_id, date, region, service = _parse_credential(params["X-Amz-Credential"], error)
    signed_headers = _parse_signed_headers(params["X-Amz-SignedHeaders"], error)
    signature = params["X-Amz-Signature"]
    if not _SIGNATURE.fullmatch(signature):
        raise error("X-Amz-Signature must be 64 hex digits")
    amz_date = _parse_amz_date(params["X-Amz-Date"], error)
    expires_text = params["X-Amz-Expires"]
    # A 64-bit integer, as S3 reads it: ``--5`` or 5,000 digits is no number (and
    # int() would fail on either).
    if not _EXPIRES.fullmatch(expires_text) or len(expires_text.lstrip("-0")) > 18:
        raise error("X-Amz-Expires should be a number")
    expires = int(expires_text)

    payload_hash = params.get("X-Amz-Content-Sha256")
    if payload_hash is None and "x-amz-content-sha256" in signed_headers:
        payload_hash = get_header(request.headers, "x-amz-content-sha256")
    return AuthInfo(
        kind="query",
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=signature,
        amz_date=amz_date,
        expires=expires,
        payload_hash=payload_hash.strip() if payload_hash is not None else UNSIGNED_PAYLOAD,
        amz_date_text=params["X-Amz-Date"],
        security_token=params.get("X-Amz-Security-Token")
        or found.get("x-amz-security-token")
        or None,
    )


_SINGLE_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}
)
"""Headers that name the credential, the signing time or the payload hash: given twice,
the request would stand for whichever one a reader takes (the canonical request signs
both values of a signed header; ``Authorization`` is signed by nothing)."""


_DATE_HEADER = frozenset({"date"})
"""``Date``, when it is the signing time (header auth without ``X-Amz-Date``): refused
twice as ``_SINGLE_HEADERS`` are. Otherwise it takes no part in the signature's time and
a repeated one is left to the signature (signed, both values are; unsigned, nothing here
reads it)."""


def _refuse_repeated(headers: Headers, names: frozenset[str] = _SINGLE_HEADERS) -> None:
    """``InvalidArgument`` naming the first header of ``names`` given twice."""
    name = repeated_header(headers, names)
    if name is not None:
        raise InvalidArgument(
            f"The {name} header may be given only once", extra={"ArgumentName": name.lower()}
        )


def parse_auth(request: SignedRequest, headers: Mapping[str, str] | None = None) -> AuthInfo | None:
    """Parse the SigV4 claims of ``request``; None when it carries no SigV4 at all.

    ``headers``: ``header_map(request.headers)``, when the caller has made it already.
    Raises AuthorizationHeaderMalformed / AuthorizationQueryParametersError for malformed
    SigV4, InvalidArgument for an ``Authorization`` header (any scheme) with query auth or
    for one of ``_SINGLE_HEADERS`` given twice (``Date`` too when it is the signing time),
    InvalidRequest for another AWS scheme (SigV2 ``AWS AKID:sig``, SigV2 presigned, SigV4a).
    """
    found = header_map(request.headers) if headers is None else headers
    repeated = len(found) != len(request.headers)
    if repeated:  # some header repeated: rare, and then checked
        _refuse_repeated(request.headers)
    authorization = found.get("authorization")
    params: dict[str, str] = {}
    if "X-Amz-" in request.raw_query or "Signature" in request.raw_query:
        params = decode_query(request.raw_query)
    query_sigv4 = bool(params) and (
        "X-Amz-Algorithm" in params or "X-Amz-Signature" in params or "X-Amz-Credential" in params
    )
    if authorization is not None and query_sigv4:
        raise only_one_auth_mechanism()
    header_sigv4 = False
    if authorization is not None:
        authorization = authorization.strip()
        scheme = authorization.split(" ", 1)[0]
        if scheme == ALGORITHM:
            header_sigv4 = True
        elif scheme in ("AWS", "AWS4-ECDSA-P256-SHA256"):
            raise InvalidRequest(_UNSUPPORTED)

    if header_sigv4:
        assert authorization is not None
        if repeated and "x-amz-date" not in found:  # Date is the signing time
            _refuse_repeated(request.headers, _DATE_HEADER)
        return _parse_header_auth(authorization, found)
    if query_sigv4:
        return _parse_query_auth(request, params, found)
    if "AWSAccessKeyId" in params and "Signature" in params:
        raise InvalidRequest(_UNSUPPORTED)
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(auth: AuthInfo, now: datetime, max_skew: timedelta) -> None:
    if auth.kind == "header":
        if abs(now - auth.amz_date) > max_skew:
            raise RequestTimeTooSkewed(
                "The difference between the request time and the current time is too large.",
                extra={
                    "RequestTime": auth.amz_date.strftime(AMZ_DATE_FORMAT),
                    "ServerTime": _iso(now),
                    "MaxAllowedSkewMilliseconds": str(int(max_skew.total_seconds() * 1000)),
                },
            )
        return
    expires = auth.expires if auth.expires is not None else 0
    if expires < 1:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )
    try:
        expiry = auth.amz_date + timedelta(seconds=expires)
    except OverflowError:  # signed in the last week of the year 9999
        expiry = datetime.max.replace(tzinfo=UTC)
    if auth.amz_date - now > max_skew:
        # S3's answer to a URL signed by a clock running ahead, as it sends it: the
        # message, and X-Amz-Date in milliseconds since the epoch (not the parameter's
        # own form), then Expires and ServerTime.
        raise AccessDenied(
            "Request is not yet valid",
            extra={
                "X-Amz-Date": str(int(auth.amz_date.timestamp()) * 1000),
                "Expires": _iso(expiry),
                "ServerTime": _iso(now),
            },
        )
    if now > expiry:
        raise AccessDenied(
            "Request has expired",
            extra={"X-Amz-Expires": str(expires), "Expires": _iso(expiry), "ServerTime": _iso(now)},
        )


def verify(
    request: SignedRequest,
    auth: AuthInfo,
    secret: str,
    now: datetime,
    *,
    max_skew: timedelta = timedelta(minutes=15),
    service: str = "s3",
    region: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> VerifiedRequest:
    """Verify ``request`` against the claims ``auth`` with the key's ``secret``.

    ``now`` is the server clock (naive means UTC). ``region``, when given, is the only
    region this endpoint accepts. ``headers``: ``header_map(request.headers)``, when the
    caller has made it already; when no header name repeats it stands for every header
    (the canonical headers and the signed-header check read it instead of lower-casing
    each name again: ~2 us per request). Checks in order: scope (service, region, ``host``
    signed), every ``x-amz-*`` header signed (:mod:`sigv4.coverage`), credential date,
    payload hash form, time (skew / presign validity), then the signature in constant
    time.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    malformed: type[SigV4Error] = (
        AuthorizationHeaderMalformed if auth.kind == "header" else AuthorizationQueryParametersError
    )
    if auth.service != service:
        raise malformed(
            f"The authorization header is malformed; incorrect service {auth.service!r}. "
            f"This endpoint belongs to {service!r}."
        )
    if region is not None and auth.region != region:
        raise malformed(
            f"The authorization header is malformed; the region {auth.region!r} is wrong; "
            f"expecting {region!r}",
            extra={"Region": region},
        )
    if "host" not in auth.signed_headers:
        raise malformed("The host header must be among the signed headers")
    unique = headers if headers is not None and len(headers) == len(request.headers) else None
    check_signed_headers(request.headers, auth.signed_headers, unique)
    amz_date = auth.amz_date_text
    if auth.date != amz_date[:8]:
        raise malformed(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
            extra={"CredentialDate": auth.date, "X-Amz-Date": amz_date},
        )
    mode = payload_mode(auth.payload_hash)
    _check_time(auth, now, max_skew)

    creq = canonical_request(
        request.method,
        request.raw_path,
        request.raw_query,
        request.headers,
        auth.signed_headers,
        auth.payload_hash,
        exclude_query="X-Amz-Signature" if auth.kind == "query" else None,
        unique=unique,
    )
    credential_scope = scope(auth.date, auth.region, auth.service)
    sts = string_to_sign(amz_date, credential_scope, creq)
    key = signing_key(secret, auth.date, auth.region, auth.service)
    expected = sign(key, sts)
    if not compare_digest(expected, auth.signature):
        raise SignatureDoesNotMatch(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            extra={"AWSAccessKeyId": auth.access_key_id, "SignatureProvided": auth.signature},
            canonical_request=creq,
            string_to_sign=sts,
        )
    return VerifiedRequest(
        access_key_id=auth.access_key_id,
        region=auth.region,
        amz_date=amz_date,
        scope=credential_scope,
        signing_key=key,
        seed_signature=auth.signature,
        payload_mode=mode,
        payload_hash=auth.payload_hash.lower() if mode is PayloadMode.SHA256 else None,
    )
