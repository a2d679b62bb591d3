"""Versioning and Object Lock passed through to the upstream store (mixed into
``S3Backend``).

The upstream store keeps the versions, delete markers, retention and legal holds; its
version ids are the gateway's. Where a store answers differently from AWS (moto in the
tests: see docs/upstream-backend.md) this module asks again or checks first:

- ListObjectVersions: botocore parses ``<Version>`` and ``<DeleteMarker>`` into two lists
  and loses their interleaving, which is the listing's order; a ``before-parse`` hook reads
  the order from the raw XML. Stores that do not interleave them (moto lists all versions,
  then all markers) are put in S3's order by a stable sort: key bytes, the latest first,
  then newest first by LastModified. On AWS that sort changes nothing. A ``key-marker``
  without ``version-id-marker`` skips that key's versions (moto lists them again).
- Retention rules (COMPLIANCE never shortened, GOVERNANCE only with the bypass) are
  checked here against the version's current state before the change goes upstream,
  and suspending versioning of a bucket with Object Lock is refused here too.
- The lock state of a version is read from HeadObject (GetObjectRetention fails on moto).
- A GetObject that meets a delete marker is described by a HeadObject, which carries
  ``x-amz-delete-marker`` where some stores' GetObject errors do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from lxml import etree

from backends.errors import BackendError
from backends.locks import check_retention_change, missing_lock_configuration, retention_date
from backends.s3.client import UpstreamClient
from backends.s3.meta import object_info, utc
from backends.s3.params import etag_of, version_params
from backends.types import (
    VERSIONING_STATES,
    VERSIONING_SUSPENDED,
    DefaultRetention,
    ObjectInfo,
    ObjectLock,
    ObjectLockConfig,
    ObjectMeta,
    ObjectVersion,
    VersionsPage,
)

__all__ = ["VersionsMixin", "describe_missing"]

_ORDER = "NfyioVersionOrder"
_PROBE_KEY = "/"
"""The key marker beside which an empty key marker's version id is shown to the store."""
_HOOK = "before-parse.s3.ListObjectVersions"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _record_order(
    response_dict: Mapping[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Keep the order of ``Version`` / ``DeleteMarker`` entries as (is marker, key, id)."""
    body = response_dict.get("body")
    if not body or int(response_dict.get("status_code", 200)) != 200:
        return
    root = etree.fromstring(body, parser=_PARSER)
    encoded = any(el.text == "url" for el in root if _local(el.tag) == "EncodingType")
    order = []
    for el in root:
        name = _local(el.tag)
        if name not in ("Version", "DeleteMarker"):
            continue
        fields = {_local(child.tag): child.text or "" for child in el}
        key = fields.get("Key", "")
        # decoded as botocore decodes the parsed entries (unquote_plus: AWS writes a space
        # as '+'), or the two spell a key differently and its entries drop out of the page
        order.append(
            (name == "DeleteMarker", unquote_plus(key) if encoded else key, fields.get("VersionId"))
        )
    customized_response_dict[_ORDER] = order


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _lock_config(response: Mapping[str, Any]) -> ObjectLockConfig:
    rule = response.get("ObjectLockConfiguration", {}).get("Rule") or {}
    default = rule.get("DefaultRetention")
    if not default or not default.get("Mode"):
        return ObjectLockConfig()
    # moto reports the unused unit as 0
    days, years = default.get("Days") or None, default.get("Years") or None
    return ObjectLockConfig(DefaultRetention(default["Mode"], days, years))


class VersionsMixin(UpstreamClient):
    _order_hooked = False

    def _hook_order(self) -> None:
        if not self._order_hooked and self._client is not None:
            self._client.meta.events.register(_HOOK, _record_order, unique_id="nfyio-order")
            self._order_hooked = True

    # -- versioning ------------------------------------------------------------------------

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        response = await self._call(
            "get_bucket_versioning", not_found="NoSuchBucket", Bucket=self._up(bucket)
        )
        status = response.get("Status")
        return str(status) if status in VERSIONING_STATES else None

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in VERSIONING_STATES:
            raise BackendError("MalformedXML", f"Unknown versioning status {status!r}")
        if status == VERSIONING_SUSPENDED and await self._lock_enabled(bucket):
            raise BackendError(
                "InvalidBucketState",
                "An Object Lock configuration is present on this bucket, so the versioning "
                "state cannot be changed.",
            )
        await self._call(
            "put_bucket_versioning",
            not_found="NoSuchBucket",
            Bucket=self._up(bucket),
            VersioningConfiguration={"Status": status},
        )

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
        max_keys: int = 1000,
    ) -> VersionsPage:
        self._hook_order()
        if key_marker == "" and version_id_marker:
            await self._check_version_marker(bucket, version_id_marker)
        params: dict[str, Any] = {"Bucket": self._up(bucket), "MaxKeys": max_keys}
        for name, value in (
            ("Prefix", prefix),
            ("Delimiter", delimiter),
            ("KeyMarker", key_marker),
            ("VersionIdMarker", version_id_marker if key_marker else None),
        ):
            if value:
                params[name] = value
        response = await self._call("list_object_versions", not_found="NoSuchBucket", **params)
        found: dict[tuple[bool, str, str | None], dict[str, Any]] = {}
        for item in response.get("Versions", []):
            found[(False, item["Key"], item.get("VersionId"))] = item
        for item in response.get("DeleteMarkers", []):
            found[(True, item["Key"], item.get("VersionId"))] = item
        order = response.get(_ORDER) or list(found)
        # A key marker without a version marker starts after every version of that key;
        # moto starts at the key itself.
        skip = key_marker if key_marker and not version_id_marker else None
        versions = tuple(
            sorted(
                (
                    _entry(bucket, marker, found[(marker, key, vid)])
                    for marker, key, vid in order
                    if (marker, key, vid) in found and key != skip
                ),
                key=_s3_order,
            )
        )
        truncated = bool(response.get("IsTruncated"))
        return VersionsPage(
            versions=versions,
            common_prefixes=tuple(p["Prefix"] for p in response.get("CommonPrefixes", [])),
            is_truncated=truncated,
            next_key_marker=response.get("NextKeyMarker") if truncated else None,
            next_version_id_marker=response.get("NextVersionIdMarker") if truncated else None,
        )

    async def _check_version_marker(self, bucket: str, version_id: str) -> None:
        """An empty key marker counts as one (AWS lists from the beginning) and the
        version id is still the store's to judge: a malformed one is refused, as the
        filesystem backend refuses one it cannot have issued. Stores read an empty
        ``key-marker`` differently (moto lists nothing after it), so the id goes to the
        store beside a key marker every store reads; the listing itself is then asked
        without markers. One request more, for a shape no paginator sends."""
        await self._call(
            "list_object_versions",
            not_found="NoSuchBucket",
            Bucket=self._up(bucket),
            KeyMarker=_PROBE_KEY,
            VersionIdMarker=version_id,
            MaxKeys=1,
        )

    # -- Object Lock -----------------------------------------------------------------------

    async def _lock_enabled(self, bucket: str) -> bool:
        try:
            await self.get_object_lock_configuration(bucket)
        except BackendError as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                return False
            raise
        return True

    async def get_object_lock_configuration(self, bucket: str) -> ObjectLockConfig:
        response = await self._call(
            "get_object_lock_configuration", not_found="NoSuchBucket", Bucket=self._up(bucket)
        )
        return _lock_config(response)

    async def put_object_lock_configuration(self, bucket: str, config: ObjectLockConfig) -> None:
        body: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
        default = config.default_retention
        if default is not None:
            retention: dict[str, Any] = {"Mode": default.mode}
            if default.days is not None:
                retention["Days"] = default.days
            if default.years is not None:
                retention["Years"] = default.years
            body["Rule"] = {"DefaultRetention": retention}
        await self._call(
            "put_object_lock_configuration",
            not_found="NoSuchBucket",
            Bucket=self._up(bucket),
            ObjectLockConfiguration=body,
        )

    async def _locked_version(self, bucket: str, key: str, version_id: str | None) -> ObjectLock:
        if not await self._lock_enabled(bucket):
            raise missing_lock_configuration()
        try:
            answer = await self._answer(
                "head_object", Bucket=self._up(bucket), Key=key, **version_params(version_id)
            )
        except BackendError as exc:
            if exc.code != "InvalidRequest":
                raise
            # An SSE-C object: its HEAD needs its key, its lock reads do not.
            return await self._lock_without_head(bucket, key, version_id)
        return object_info(bucket, key, answer.headers, 0).lock or ObjectLock()

    async def _lock_without_head(self, bucket: str, key: str, version_id: str | None) -> ObjectLock:
        """The lock of a version whose HEAD the store refuses without an SSE-C key, from
        GetObjectRetention and GetObjectLegalHold (a 404 of either: none set; SeaweedFS
        says ``ObjectLockConfigurationNotFoundError`` there, of a bucket known to have
        Object Lock)."""
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            **version_params(version_id),
        }
        mode = until = hold = None
        try:
            retention = (await self._call("get_object_retention", **params)).get("Retention")
        except BackendError as exc:
            if exc.code not in _NONE_SET:
                raise
        else:
            if retention and retention.get("Mode") and retention.get("RetainUntilDate"):
                until = retention_date(utc(retention["RetainUntilDate"]))  # as _lock reads it
                mode = str(retention["Mode"])
        try:
            found = (await self._call("get_object_legal_hold", **params)).get("LegalHold")
        except BackendError as exc:
            if exc.code not in _NONE_SET:
                raise
        else:
            if found and found.get("Status"):
                hold = found["Status"] == "ON"
        return ObjectLock(mode=mode, retain_until=until, legal_hold=hold)

    async def get_object_lock(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectLock:
        return await self._locked_version(bucket, key, version_id)

    async def put_object_retention(
        self,
        bucket: str,
        key: str,
        lock: ObjectLock,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        current = await self._locked_version(bucket, key, version_id)
        check_retention_change(
            current,
            lock.mode,
            lock.retain_until,
            bypass_governance=bypass_governance,
            now=datetime.now(UTC),
        )
        retention: dict[str, Any] = {}
        if lock.mode is not None and lock.retain_until is not None:
            retention = {"Mode": lock.mode, "RetainUntilDate": lock.retain_until}
        params: dict[str, Any] = {"Retention": retention, **version_params(version_id)}
        if bypass_governance:
            params["BypassGovernanceRetention"] = True
        await self._call(
            "put_object_retention",
            denied="AccessDenied",
            Bucket=self._up(bucket),
            Key=key,
            **params,
        )

    async def put_object_legal_hold(
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        await self._locked_version(bucket, key, version_id)
        await self._call(
            "put_object_legal_hold",
            Bucket=self._up(bucket),
            Key=key,
            LegalHold={"Status": "ON" if on else "OFF"},
            **version_params(version_id),
        )


_NONE_SET = frozenset({"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"})
"""What a store answers GetObjectRetention / GetObjectLegalHold of a version with none."""


async def describe_missing(
    client: UpstreamClient, bucket: str, key: str, version_id: str | None, exc: BackendError
) -> BackendError:
    """A GetObject refused with NoSuchKey/NoSuchVersion may have met a delete marker:
    HeadObject says so (moto's GetObject errors do not)."""
    if exc.code not in ("NoSuchKey", "NoSuchVersion") or "DeleteMarker" in exc.extra:
        return exc
    try:
        await client._call(
            "head_object", Bucket=client._up(bucket), Key=key, **version_params(version_id)
        )
    except BackendError as described:
        if "DeleteMarker" in described.extra:
            return described
    return exc


def _s3_order(entry: ObjectVersion) -> tuple[bytes, bool, float]:
    info = entry.info
    return (info.key.encode("utf-8"), not entry.is_latest, -info.last_modified.timestamp())


def _entry(bucket: str, marker: bool, item: Mapping[str, Any]) -> ObjectVersion:
    info = ObjectInfo(
        bucket=bucket,
        key=item["Key"],
        size=0 if marker else int(item.get("Size", 0)),
        etag="" if marker else etag_of(item.get("ETag")),
        last_modified=utc(item.get("LastModified")),
        meta=ObjectMeta(storage_class=item.get("StorageClass") or "STANDARD"),
        version_id=item.get("VersionId"),
    )
    return ObjectVersion(info, bool(item.get("IsLatest")), delete_marker=marker)
