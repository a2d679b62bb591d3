"""POST Object: browser form uploads (``POST /bucket`` with ``multipart/form-data``).

The dispatcher calls :func:`read_post` instead of header authentication: it reads the
fields before the ``file`` part (bounded), authenticates the form by its signature fields
(``gateway/s3/post_auth.py``), checks the policy (``gateway/s3/post_policy.py``) and
returns the request as the rest of the gateway sees it: the key the form names (with
``${filename}`` replaced by the file's name) and headers made **only** of form fields the
policy let through (``Content-Type``, ``Cache-Control``, ``Content-Disposition``,
``Content-Encoding``, ``Expires``, ``x-amz-meta-*``, ``acl`` as ``x-amz-acl``,
``x-amz-storage-class``, ``x-amz-server-side-encryption*``, ``x-amz-object-lock-*``,
``x-amz-checksum-*``), and the ``tagging`` field's tag set (a ``Tagging`` document). The
request's real HTTP headers never reach the object. The one
access decision then judges ``s3:PutObject`` on that key for that principal, exactly as
for PutObject, before the first byte of the file is read.

:func:`post_object` (the handler) streams the file into the backend, enforcing the
policy's ``content-length-range`` and the gateway's object size limit as bytes arrive and
any ``x-amz-checksum-*`` field at the end: the backend discards the upload on any failure,
so a refused form stores nothing. It answers as ``success_action_redirect`` (303 to that
URL with ``bucket``, ``key`` and ``etag`` in the query) or ``success_action_status``
(200 or 204 without a body, 201 with a ``PostResponse`` document; 204 by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web

from gateway.config import Config
from gateway.identity.store import IdentityStore
from gateway.principal import Principal
from gateway.s3.addressing import check_key
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import checksum_headers, object_meta, quote_etag
from gateway.s3.lifecycle import expiration_headers
from gateway.s3.lock_headers import has_digest, parse_object_lock
from gateway.s3.objects import requested_lock, written_version_header
from gateway.s3.ownership import plan_write, record_write
from gateway.s3.post_auth import EXEMPT_V2, EXEMPT_V4, authenticate_form, carries_signature
from gateway.s3.post_form import FormReader, boundary_of
from gateway.s3.post_policy import check_policy, parse_policy
from gateway.s3.refused_headers import refuse_unevaluated
from gateway.s3.request import S3Request
from gateway.s3.sse import parse_encryption, plain_http_allowed, sse_response_headers
from gateway.s3.tags import parse_tagging_document
from gateway.s3.xml import XmlWriter
from gateway.text import is_url_text
from gateway.transport import TLS_REQUIRED, refused
from sigv4 import new_checksum, parse_checksum_value
from sigv4.checksums import normalize_algorithm

__all__ = ["MAX_PRE_DATA", "POST_UPLOAD", "PostUpload", "post_object", "read_post"]

MAX_PRE_DATA = 20 * 1024
"""Bytes of the form before the file's content (AWS: 20 KB): policy, fields, part
headers. Beyond it: ``MaxPostPreDataLengthExceededError``."""

_HEADER_FIELDS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-type",
        "expires",
        "x-amz-storage-class",
        "x-amz-website-redirect-location",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
        "x-amz-server-side-encryption-bucket-key-enabled",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold",
        "x-amz-object-lock-event-hold",
        "x-amz-object-lock-event-hold-duration-days",
        "x-amz-object-lock-event-hold-duration-years",
        "x-amz-checksum-algorithm",
    }
)
"""Form fields that stand for the request header of the same name (some of them refused
as the header is: ``gateway/s3/refused_headers.py``)."""
_AUTHENTICATION_FIELDS = frozenset(
    {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token"}
)
"""``x-amz-*`` fields read by authentication (``post_auth``), not stored."""
_CHECKSUM_PREFIX = "x-amz-checksum-"
_META_PREFIX = "x-amz-meta-"


@dataclass(slots=True)
class PostUpload:
    """What the handler needs of a form the dispatcher read and checked."""

    reader: FormReader
    fields: Mapping[str, str]
    length_range: tuple[int, int] | None
    checksums: dict[str, str | None] = field(default_factory=dict)
    """Algorithm -> the base64 value the form expects (None: compute and store only)."""


POST_UPLOAD = web.RequestKey("post_upload", PostUpload)

_SIGNATURE_VERSIONS = {EXEMPT_V4: "AWS4-HMAC-SHA256", EXEMPT_V2: "AWS"}
"""``s3:signatureversion`` of a form, by the signature ``authenticate_form`` verified
(the fields it exempts from the policy name it)."""


def _form_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """The header map of the upload, built from form fields alone. Any other ``x-amz-*``
    field (a policy must name it to get here) asks for something this gateway does not
    do with a form: ``NotImplemented`` naming it, rather than a success for an upload
    that ignored it. Other unknown fields are ignored, as S3 does (a form's submit
    button, ``x-ignore-*``)."""
    headers: dict[str, str] = {}
    for name, value in fields.items():
        if name in _HEADER_FIELDS or name.startswith((_META_PREFIX, _CHECKSUM_PREFIX)):
            headers[name] = value
        elif name == "acl":
            headers["x-amz-acl"] = value
        elif name.startswith("x-amz-") and name not in _AUTHENTICATION_FIELDS:
            raise S3Error(
                "NotImplemented",
                f"The form field {name} is not implemented",
                extra={"ArgumentName": name},
            )
    return headers


def _checksums(fields: Mapping[str, str]) -> dict[str, str | None]:
    wanted: dict[str, str | None] = {}
    announced = fields.get("x-amz-checksum-algorithm")
    for name, value in fields.items():
        if name.startswith(_CHECKSUM_PREFIX) and name not in (
            "x-amz-checksum-algorithm",
            "x-amz-checksum-type",
        ):
            algorithm = normalize_algorithm(name[len(_CHECKSUM_PREFIX) :])
            wanted[algorithm] = parse_checksum_value(algorithm, value)
    if announced is not None:
        algorithm = normalize_algorithm(announced)
        if wanted and algorithm not in wanted:
            raise S3Error(
                "InvalidRequest",
                "x-amz-checksum-algorithm does not match the checksum field sent",
            )
        wanted.setdefault(algorithm, None)
    if len(wanted) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- field")
    return wanted


def _key(fields: Mapping[str, str], filename: str) -> str:
    raw = fields.get("key")
    if raw is None:
        raise S3Error(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check "
            "the order of the fields.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    key = raw.replace("${filename}", filename)
    if not key:
        raise S3Error(
            "InvalidArgument",
            "User key must have a length greater than 0.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    check_key(key)
    return key


async def read_post(
    request: web.Request,
    req: S3Request,
    store: IdentityStore,
    config: Config,
    now: datetime,
) -> tuple[S3Request, Principal]:
    """Read and check the form up to its file: the request as the access decision and the
    handler see it, and its principal. Nothing is stored yet."""
    reader = FormReader(
        request.content.readany, boundary_of(req.headers.get("content-type")), limit=MAX_PRE_DATA
    )
    fields, file_header = await reader.read_fields()
    key = _key(fields, file_header.filename)
    if carries_signature(fields) and refused(config, request, {}, {"X-Amz-Signature"}):
        raise S3Error("AccessDenied", TLS_REQUIRED)
    principal, exempt = await authenticate_form(fields, store, now)
    policy = parse_policy(fields["policy"]) if "policy" in fields else None
    bucket = req.address.bucket or ""
    if policy is not None:
        check_policy(policy, fields, bucket=bucket, now=now, exempt=exempt)
    # The object's tags, as a Tagging document (AWS's form field; PutObject's header is
    # a query string): validated like PutObjectTagging's body, and the access decision
    # then asks for s3:PutObjectTagging too, as for PutObject with x-amz-tagging.
    tags = (
        parse_tagging_document(fields["tagging"].encode("utf-8")) if "tagging" in fields else None
    )
    headers = _form_headers(fields)
    refuse_unevaluated("PostObject", headers)
    forwarded_for = req.headers.get("x-forwarded-for")
    if forwarded_for is not None:  # aws:SourceIp behind a trusted proxy
        headers["x-forwarded-for"] = forwarded_for
    secure = req.base_url.startswith("https://")
    trusted = config.server.trusted_forwarded_headers
    upload = PostUpload(
        reader=reader,
        fields=fields,
        length_range=None if policy is None else policy.length_range,
        checksums=_checksums(fields),
    )
    derived = dataclasses.replace(
        req,
        address=dataclasses.replace(req.address, key=key),
        headers=headers,
        header_pairs=tuple(headers.items()),
        encryption=parse_encryption(
            headers,
            "PutObject",
            plain_http_ok=lambda: (
                secure or plain_http_allowed(request.remote, behind_proxy=trusted)
            ),
        ),
        object_lock=parse_object_lock(headers),
        conditions=None,
        content_md5=None,
        copy_source=None,
        version_id=None,
        part_number=None,
        byte_range=None,
        bypass_governance=False,
        tags=tags,
        form_signature=_SIGNATURE_VERSIONS.get(exempt),
    )
    request[POST_UPLOAD] = upload
    return derived, principal


class FileBody:
    """The ``file`` part as the backend's ``PayloadStream``: sizes and checksums checked
    as it streams; a failure raises, so the backend keeps nothing."""

    def __init__(self, upload: PostUpload, *, max_size: int) -> None:
        self._upload = upload
        low, high = upload.length_range or (0, max_size)
        self._low = low
        self._high = min(high, max_size)
        self._checksums: dict[str, str] = {}

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._checksums

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        hashers = {alg: new_checksum(alg) for alg in self._upload.checksums}
        total = 0
        async for chunk in self._upload.reader.file_chunks():
            total += len(chunk)
            if total > self._high:
                raise S3Error(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    extra={"ProposedSize": str(total), "MaxSizeAllowed": str(self._high)},
                )
            for hasher in hashers.values():
                hasher.update(chunk)
            yield chunk
        if total < self._low:
            raise S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                extra={"ProposedSize": str(total), "MinSizeAllowed": str(self._low)},
            )
        for algorithm, hasher in hashers.items():
            computed = hasher.b64digest()
            expected = self._upload.checksums[algorithm]
            if expected is not None and computed != expected:
                raise S3Error(
                    "BadDigest",
                    f"The {algorithm} you specified did not match the calculated checksum.",
                )
            self._checksums[algorithm] = computed


_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
"""Printable ASCII: kept as it is (a ``%`` too: the target may be percent-encoded already)."""


def _redirect(target: str, bucket: str, key: str, etag: str) -> str | None:
    """``success_action_redirect`` with the upload's facts, or None when S3 could not
    interpret the URL (it then acts as if the field were absent): one that is not http(s),
    holds a control character or a space, or is one ``urlsplit`` refuses. Characters
    outside ASCII are sent percent-encoded as UTF-8, as a browser would request them:
    ``Location`` is a URI."""
    target = target.strip(" \t")
    if not is_url_text(target):
        # urlsplit would take the rest of a target with a CR, LF or tab, but such a target
        # sent as ``Location`` would split the answer's headers (it was left out: a 303
        # with nowhere to go)
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # an authority no URL parser reads (an unclosed IPv6 "[")
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    query = urlencode({"bucket": bucket, "key": key, "etag": etag})
    joiner = "&" if parts.query else "?"
    base = target.split("#", 1)[0]
    if not base.isascii():
        base = quote(base, safe=_URL_SAFE)
    return f"{base}{joiner}{query}"


async def post_object(ctx: Context) -> Result:
    upload = ctx.request[POST_UPLOAD]
    plan = await plan_write(ctx)
    meta = object_meta(ctx.headers, ctx.req.header_pairs)
    lock = requested_lock(ctx)
    if lock is not None and not has_digest(ctx.headers):
        raise S3Error(
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
            "with Object Lock parameters",
        )
    body = FileBody(upload, max_size=ctx.config.s3.max_object_size)
    tags = ctx.req.tags or ()
    info = await ctx.backend.put_object(
        ctx.bucket, ctx.key, body, meta, encryption=ctx.req.encryption, object_lock=lock, tags=tags
    )
    await record_write(ctx, plan, info)
    etag = quote_etag(info.etag)
    location = f"{ctx.req.base_url}/{quote(ctx.bucket)}/{quote(ctx.key)}"
    headers = {
        "ETag": etag,
        "Location": location,
        **checksum_headers(info.checksums),
        **sse_response_headers(info.meta),
        **written_version_header(info.version_id),
        **await expiration_headers(ctx, info, tags),
    }
    fields = upload.fields
    target = fields.get("success_action_redirect") or fields.get("redirect")
    redirect = None if target is None else _redirect(target, ctx.bucket, ctx.key, etag)
    if redirect is not None:
        headers["Location"] = redirect
        return Result(status=303, headers=headers)
    status = fields.get("success_action_status", "204").strip()
    if status == "201":
        doc = XmlWriter("PostResponse", namespace=False)
        doc.el("Location", location)
        doc.el("Bucket", ctx.bucket)
        doc.el("Key", ctx.key)
        doc.el("ETag", etag)
        doc.close("PostResponse")
        return Result(status=201, headers=headers, xml=bytes(doc))
    return Result(status=200 if status == "200" else 204, headers=headers)
