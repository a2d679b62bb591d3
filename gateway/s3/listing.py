"""Listing: ListObjects (V1), ListObjectsV2 and ListObjectVersions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote

from backends.checksums import checksum_type_of
from backends.errors import BackendError
from backends.types import ListPage, ObjectInfo, ObjectVersion, VersionsPage
from gateway.identity.page_tokens import seal, unseal
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.flags import ECHO_LIMIT, parse_flag
from gateway.s3.headers import quote_etag
from gateway.s3.owner import ListingOwners, listing_owners
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter, escape, s3_time
from sigv4.request import header_values

__all__ = [
    "MAX_KEYS",
    "KeyNames",
    "decode_token",
    "encode_token",
    "int32",
    "list_object_versions",
    "list_objects",
    "list_objects_v2",
    "max_keys",
    "optional_attributes",
]

MAX_KEYS = 1000
OPTIONAL_ATTRIBUTES = "x-amz-optional-object-attributes"
_OPTIONAL = frozenset({"RestoreStatus"})


def optional_attributes(ctx: Context) -> None:
    """Check ``x-amz-optional-object-attributes`` of the three listings: a comma-separated
    list (botocore joins with ``,``, the JS SDK v3 with ``, ``; the header may repeat) of
    ``RestoreStatus``, S3's one value, exactly; anything else is 400 ``InvalidArgument``
    naming the header and the values refused. ``RestoreStatus`` asks for the restore state
    of restored archived objects, which the gateway never has: nothing more is listed."""
    names: set[str] = set()
    for value in header_values(ctx.req.header_pairs, OPTIONAL_ATTRIBUTES):
        names.update(part.strip() for part in value.split(","))
    names.discard("")
    invalid = names - _OPTIONAL
    if invalid:
        raise S3Error(
            "InvalidArgument",
            "Invalid attribute name specified.",
            extra={
                "ArgumentName": OPTIONAL_ATTRIBUTES,
                "ArgumentValue": ", ".join(sorted(invalid))[:ECHO_LIMIT],
            },
        )


def int32(raw: str) -> int | None:
    """A query parameter's integer as S3 reads one: ASCII digits after an optional sign,
    within a 32-bit signed integer; None otherwise. Python's ``int`` would also take
    ``" 5"``, ``"1_000"``, ``"\uff10"`` (a full-width zero) and any magnitude."""
    digits = raw[1:] if raw.startswith(("+", "-")) else raw
    if not (digits.isascii() and digits.isdigit()):
        return None
    significant = digits.lstrip("0")
    if len(significant) > 10:
        return None
    value = int(significant or "0") * (-1 if raw.startswith("-") else 1)
    return value if -(2**31) <= value < 2**31 else None


def max_keys(ctx: Context, name: str = "max-keys", *, versions: bool = False) -> int:
    """The listing's page size; ``versions``: ListObjectVersions, whose refusal of a
    negative one AWS words differently (and names no value)."""
    raw = ctx.query.get(name)
    if raw is None:
        return MAX_KEYS
    value = int32(raw)
    argument = {"ArgumentName": name, "ArgumentValue": raw}  # as AWS names it
    if value is None:
        raise S3Error(
            "InvalidArgument",
            f"Provided {name} not an integer or within integer range",
            extra=argument,
        )
    if value < 0 and versions:
        raise S3Error("InvalidArgument", f"{name} cannot be negative", extra={"ArgumentName": name})
    if value < 0:
        raise S3Error(
            "InvalidArgument",
            f"Argument {name} must be an integer between 0 and 2147483647",
            extra=argument,
        )
    return min(value, MAX_KEYS)


class KeyNames:
    """Applies ``encoding-type=url`` to keys, prefixes, delimiters and markers."""

    def __init__(self, ctx: Context) -> None:
        encoding = ctx.query.get("encoding-type")
        if encoding not in (None, "url"):
            raise S3Error(
                "InvalidArgument",
                "Invalid Encoding Method specified in Request",
                extra={"ArgumentName": "encoding-type", "ArgumentValue": encoding},
            )
        self.url = encoding == "url"

    def __call__(self, value: str | None) -> str | None:
        if value is None or not self.url:
            return value
        return quote(value, safe="/")


def _contents(
    doc: XmlWriter, objects: Iterable[ObjectInfo], names: KeyNames, owners: ListingOwners | None
) -> None:
    """The ``<Contents>`` entries, each written as a single string (pages hold 1,000).

    Per entry this is the listing's hottest code: the escapes that almost never change
    anything are skipped by cheap checks (hex ETags, cached storage classes).
    """
    url = names.url
    owner_xml = owners.default.xml() if owners is not None else ""
    per_object = owners is not None and bool(owners.rows)
    classes = _storage_classes
    for obj in objects:
        key = quote(obj.key, safe="/") if url else escape(obj.key)
        etag = obj.etag
        if not etag.isalnum():
            etag = escape(etag)
        storage_class = obj.meta.storage_class
        storage_xml = classes.get(storage_class)
        if storage_xml is None:
            storage_xml = _storage_class_xml(storage_class)
        checksums = obj.checksums
        algorithms = _checksum_xml(checksums) if checksums else ""
        if per_object:
            assert owners is not None
            owner_xml = owners.xml(obj.key)
        doc.raw(
            f"<Contents><Key>{key}</Key><LastModified>{s3_time(obj.last_modified)}</LastModified>"
            f"<ETag>&quot;{etag}&quot;</ETag>{algorithms}<Size>{obj.size}</Size>"
            f"{owner_xml}{storage_xml}</Contents>"
        )


def _checksum_xml(checksums: Mapping[str, str]) -> str:
    """``<ChecksumAlgorithm>`` of each checksum, then ``<ChecksumType>`` (composite
    values end in ``-N``), as S3 lists them."""
    names = "".join(
        f"<ChecksumAlgorithm>{escape(algorithm)}</ChecksumAlgorithm>" for algorithm in checksums
    )
    return f"{names}<ChecksumType>{checksum_type_of(next(iter(checksums.values())))}</ChecksumType>"


_storage_classes: dict[str, str] = {}


def _storage_class_xml(storage_class: str) -> str:
    xml = f"<StorageClass>{escape(storage_class)}</StorageClass>"
    if len(_storage_classes) < 64:
        _storage_classes[storage_class] = xml
    return xml


def _prefixes(doc: XmlWriter, page: ListPage, names: KeyNames) -> None:
    for prefix in page.common_prefixes:
        doc.open("CommonPrefixes")
        doc.el("Prefix", names(prefix))
        doc.close("CommonPrefixes")


async def _owners(ctx: Context, page: ListPage) -> ListingOwners:
    objects = page.objects
    first, last = (objects[0].key, objects[-1].key) if objects else (None, None)
    return await listing_owners(ctx.access.store, existing_bucket(ctx), first, last)


async def _page(ctx: Context, marker: str | None, limit: int) -> ListPage:
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter") or None
    if limit == 0:
        await ctx.backend.head_bucket(ctx.bucket)
        return ListPage(objects=(), common_prefixes=(), is_truncated=False, next_marker=None)
    return await ctx.backend.list_objects(
        ctx.bucket, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=limit
    )


async def list_objects(ctx: Context) -> Result:
    optional_attributes(ctx)
    names = KeyNames(ctx)
    limit = max_keys(ctx)
    marker = ctx.query.get("marker") or None
    page = await _page(ctx, marker, limit)
    doc = XmlWriter("ListBucketResult")
    doc.el("Name", ctx.bucket)
    doc.el("Prefix", names(ctx.query.get("prefix", "")))
    doc.el("Marker", names(marker or ""))
    if page.is_truncated and page.next_marker is not None and "delimiter" in ctx.query:
        doc.el("NextMarker", names(page.next_marker))
    doc.el("MaxKeys", limit)
    doc.el("Delimiter", names(ctx.query.get("delimiter")))
    doc.el("IsTruncated", page.is_truncated)
    if names.url:
        doc.el("EncodingType", "url")
    _contents(doc, page.objects, names, await _owners(ctx, page))
    _prefixes(doc, page, names)
    doc.close("ListBucketResult")
    return Result(xml=bytes(doc))


_TOKEN_PURPOSE = "continuation-token"  # noqa: S105 - a subkey purpose, not a secret


def encode_token(ctx: Context, scope: str, marker: str) -> str:
    """A continuation token: where the next page starts, bound to ``scope`` (the listing
    it belongs to: ``objects/<bucket>``, ``buckets/<account>``;
    ``gateway/identity/page_tokens.py``)."""
    return seal(ctx.access.store.keyring, _TOKEN_PURPOSE, scope, marker)


def decode_token(ctx: Context, scope: str, token: str) -> str:
    """The marker of a token :func:`encode_token` made for ``scope``; anything else (a
    forged or altered token, another bucket's or account's) is ``InvalidArgument``."""
    marker = unseal(ctx.access.store.keyring, _TOKEN_PURPOSE, scope, token)
    if marker is None:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect")
    return marker


async def list_objects_v2(ctx: Context) -> Result:
    optional_attributes(ctx)
    names = KeyNames(ctx)
    limit = max_keys(ctx)
    token = ctx.query.get("continuation-token")
    start_after = ctx.query.get("start-after") or None
    marker = start_after
    if token is not None:
        # As AWS: once a token is present it alone says where the page starts; minio-py
        # sends start-after (holding the token's text) beside it on every page.
        marker = decode_token(ctx, f"objects/{ctx.bucket}", token)
    fetch_owner = parse_flag(ctx.query, "fetch-owner")
    page = await _page(ctx, marker, limit)
    doc = XmlWriter("ListBucketResult")
    doc.el("Name", ctx.bucket)
    doc.el("Prefix", names(ctx.query.get("prefix", "")))
    doc.el("Delimiter", names(ctx.query.get("delimiter")))
    doc.el("MaxKeys", limit)
    doc.el("KeyCount", len(page.objects) + len(page.common_prefixes))
    doc.el("IsTruncated", page.is_truncated)
    if names.url:
        doc.el("EncodingType", "url")
    doc.el("ContinuationToken", token)
    if page.is_truncated and page.next_marker is not None:
        doc.el(
            "NextContinuationToken", encode_token(ctx, f"objects/{ctx.bucket}", page.next_marker)
        )
    doc.el("StartAfter", names(start_after))
    _contents(doc, page.objects, names, await _owners(ctx, page) if fetch_owner else None)
    _prefixes(doc, page, names)
    doc.close("ListBucketResult")
    return Result(xml=bytes(doc))


def _version_markers(ctx: Context) -> tuple[str | None, str | None]:
    """``key-marker`` and ``version-id-marker`` as AWS reads them: a version-id marker
    needs a key marker (an empty one counts), and is never empty; both refusals name
    ``version-id-marker`` and its value. With an empty key marker the listing starts at
    the beginning (the version id is still checked by the store)."""
    key_marker = ctx.query.get("key-marker")
    version_marker = ctx.query.get("version-id-marker")
    if version_marker is None:
        return key_marker or None, None
    argument = {"ArgumentName": "version-id-marker", "ArgumentValue": version_marker}
    if key_marker is None:
        raise S3Error(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            extra=argument,
        )
    if not version_marker:
        raise S3Error("InvalidArgument", "A version-id marker cannot be empty.", extra=argument)
    return key_marker, version_marker


async def list_object_versions(ctx: Context) -> Result:
    """Versions and delete markers in key order, newest first within a key. Checked in
    AWS's order: ``max-keys``, the markers, ``encoding-type``."""
    optional_attributes(ctx)
    limit = max_keys(ctx, versions=True)
    key_marker, version_marker = _version_markers(ctx)
    names = KeyNames(ctx)
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter") or None
    if limit == 0:
        await ctx.backend.head_bucket(ctx.bucket)
        page = VersionsPage((), (), False, None, None)
    else:
        try:
            page = await ctx.backend.list_object_versions(
                ctx.bucket,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                version_id_marker=version_marker,
                max_keys=limit,
            )
        except BackendError as exc:
            if exc.extra.get("ArgumentName") == "versionId":
                exc.extra["ArgumentName"] = "version-id-marker"  # where the id was sent
            raise
    doc = XmlWriter("ListVersionsResult")
    doc.el("Name", ctx.bucket)
    doc.el("Prefix", names(prefix))
    doc.el("KeyMarker", names(key_marker or ""))
    doc.el("VersionIdMarker", version_marker or "")
    if page.is_truncated:
        doc.el("NextKeyMarker", names(page.next_key_marker))
        doc.el("NextVersionIdMarker", page.next_version_id_marker)
    doc.el("MaxKeys", limit)
    doc.el("Delimiter", names(ctx.query.get("delimiter")))
    doc.el("IsTruncated", page.is_truncated)
    if names.url:
        doc.el("EncodingType", "url")
    owners = await _version_owners(ctx, page)
    for entry in page.versions:
        _version_entry(doc, entry, names, owners)
    for common in page.common_prefixes:
        doc.open("CommonPrefixes")
        doc.el("Prefix", names(common))
        doc.close("CommonPrefixes")
    doc.close("ListVersionsResult")
    return Result(xml=bytes(doc))


async def _version_owners(ctx: Context, page: VersionsPage) -> ListingOwners:
    entries = page.versions
    first, last = (entries[0].info.key, entries[-1].info.key) if entries else (None, None)
    return await listing_owners(ctx.access.store, existing_bucket(ctx), first, last)


def _version_entry(
    doc: XmlWriter, entry: ObjectVersion, names: KeyNames, owners: ListingOwners
) -> None:
    info = entry.info
    element = "DeleteMarker" if entry.delete_marker else "Version"
    doc.open(element)
    doc.el("Key", names(info.key))
    doc.el("VersionId", info.version_id or "null")
    doc.el("IsLatest", entry.is_latest)
    doc.el("LastModified", info.last_modified)
    if not entry.delete_marker:
        doc.el("ETag", quote_etag(info.etag))
        for algorithm in info.checksums:
            doc.el("ChecksumAlgorithm", algorithm)
        if info.checksums:
            doc.el("ChecksumType", checksum_type_of(next(iter(info.checksums.values()))))
        doc.el("Size", info.size)
        doc.el("StorageClass", info.meta.storage_class)
    doc.raw(owners.xml(info.key, info.version_id, latest=False))
    doc.close(element)
