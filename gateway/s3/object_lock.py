"""Object Lock: the bucket configuration (default retention), and the retention and
legal hold of a version. The rules (what may be shortened, by whom) are the backend's,
from ``backends.locks``; here the documents are read and written."""

from __future__ import annotations

from datetime import UTC

from lxml import etree

from backends.errors import BackendError
from backends.types import DefaultRetention, ObjectInfo, ObjectLockConfig
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.lock_conditions import event_hold_asked
from gateway.s3.lock_headers import HOLD_HEADER, MODE_HEADER, UNTIL_HEADER, check_future
from gateway.s3.markers import marker_write_refused
from gateway.s3.numbers import xml_integer
from gateway.s3.xml import XmlWriter, children, iso8601, local, parse_xml, sole_text
from gateway.scopes import READ_OBJECTS

__all__ = [
    "MAX_DAYS",
    "MAX_YEARS",
    "get_object_legal_hold",
    "get_object_lock_configuration",
    "get_object_retention",
    "put_object_legal_hold",
    "put_object_lock_configuration",
    "put_object_retention",
    "withhold_lock_headers",
]

MAX_DAYS = 36500
MAX_YEARS = 100
"""Longest default retention accepted (our bound: 100 years)."""


async def withhold_lock_headers(ctx: Context, info: ObjectInfo, headers: dict[str, str]) -> None:
    """GET/HEAD answer a version's retention (``x-amz-object-lock-mode`` and
    ``-retain-until-date``) only to a requester with ``s3:GetObjectRetention``, its legal
    hold only to one with ``s3:GetObjectLegalHold``, as S3 documents: a reader granted
    ``s3:GetObject`` alone (anonymous, another account) is not told how long a version is
    kept or that it is held. Cost: an access decision per header present, for locked
    versions only (an object without a lock has nothing to withhold)."""
    lock = info.lock
    if lock is None:
        return
    for action, names in (
        ("s3:GetObjectRetention", (MODE_HEADER, UNTIL_HEADER)),
        ("s3:GetObjectLegalHold", (HOLD_HEADER,)),
    ):
        if names[0] not in headers:
            continue
        decision = await ctx.access.decide(
            ctx.access.bucket, action, (READ_OBJECTS,), key=ctx.key, version=ctx.req.version_id
        )
        if not decision.allowed:
            for name in names:
                headers.pop(name, None)


def _no_lock_configuration() -> S3Error:
    return S3Error("NoSuchObjectLockConfiguration")


def _period(text: str | None, unit: str, limit: int) -> int | None:
    if text is None:
        return None
    value = xml_integer(text)
    if value is None:
        raise S3Error("MalformedXML")
    if value <= 0 or value > limit:
        raise S3Error(
            "InvalidRetentionPeriod",
            f"Default retention period in {unit} must be a positive integer up to {limit}",
        )
    return value


def _refuse_event_hold(name: str | None) -> None:
    """Object Lock event holds (S3's since 2026) are not built: an element asking for one
    (``lock_conditions.event_hold_asked``) is refused, naming it, before anything
    changes. Ignored, it would answer success for an object nobody holds (and a Retention
    holding only an event hold would read as a request to remove the object's
    retention). ``<EventHold>OFF</EventHold>`` asks for nothing and is accepted, as the
    header's ``OFF`` is."""
    if name is not None:
        raise S3Error(
            "NotImplemented",
            f"Object Lock event holds are not implemented ({name})",
            extra={"Element": name},
        )


def _parse_default_retention(rule: etree._Element) -> DefaultRetention:
    retention = children(rule, "DefaultRetention")
    if len(retention) != 1:
        raise S3Error("MalformedXML")
    element = retention[0]
    _refuse_event_hold(event_hold_asked(element, ("DefaultEventHold",)))
    mode = sole_text(element, "Mode")
    if mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise S3Error("MalformedXML")
    days = _period(sole_text(element, "Days"), "days", MAX_DAYS)
    years = _period(sole_text(element, "Years"), "years", MAX_YEARS)
    if (days is None) == (years is None):  # exactly one of them
        raise S3Error("MalformedXML")
    return DefaultRetention(mode, days, years)


async def put_object_lock_configuration(ctx: Context) -> Result:
    root = parse_xml(await ctx.xml_body())
    if local(root.tag) != "ObjectLockConfiguration":
        raise S3Error("MalformedXML")
    if sole_text(root, "ObjectLockEnabled") != "Enabled":
        raise S3Error("MalformedXML")
    rules = children(root, "Rule")
    if len(rules) > 1:
        raise S3Error("MalformedXML")
    default = _parse_default_retention(rules[0]) if rules else None
    await ctx.backend.put_object_lock_configuration(ctx.bucket, ObjectLockConfig(default))
    return Result()


async def get_object_lock_configuration(ctx: Context) -> Result:
    config = await ctx.backend.get_object_lock_configuration(ctx.bucket)
    doc = XmlWriter("ObjectLockConfiguration")
    doc.el("ObjectLockEnabled", "Enabled")
    default = config.default_retention
    if default is not None:
        doc.open("Rule")
        doc.open("DefaultRetention")
        doc.el("Mode", default.mode)
        doc.el("Days", default.days)
        doc.el("Years", default.years)
        doc.close("DefaultRetention")
        doc.close("Rule")
    doc.close("ObjectLockConfiguration")
    return Result(xml=bytes(doc))


async def put_object_retention(ctx: Context) -> Result:
    """Set, extend, shorten or (with ``<Retention/>`` empty) remove a retention period;
    shortening or removing GOVERNANCE needs the bypass, COMPLIANCE can only grow. A key
    whose latest version is a delete marker: 405 (``gateway/s3/markers.py``)."""
    body = ctx.req.lock_body  # the body as the decision read it (dispatch)
    assert body is not None
    _refuse_event_hold(body.event_hold)
    check_future(body.lock.retain_until, ctx.now, body.until_sent, "RetainUntilDate")
    try:
        await ctx.backend.put_object_retention(
            ctx.bucket,
            ctx.key,
            body.lock,
            version_id=ctx.req.version_id,
            bypass_governance=ctx.bypass_governance,
        )
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    return Result()


async def get_object_retention(ctx: Context) -> Result:
    lock = await ctx.backend.get_object_lock(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    if lock.mode is None or lock.retain_until is None:
        raise _no_lock_configuration()
    doc = XmlWriter("Retention")
    doc.el("Mode", lock.mode)
    doc.el("RetainUntilDate", iso8601(lock.retain_until.astimezone(UTC)))  # as it was put
    doc.close("Retention")
    return Result(xml=bytes(doc))


async def put_object_legal_hold(ctx: Context) -> Result:
    """A key whose latest version is a delete marker: 405, as for PutObjectRetention."""
    lock = ctx.req.object_lock  # the body as the decision read it (dispatch)
    assert lock is not None and lock.legal_hold is not None
    try:
        await ctx.backend.put_object_legal_hold(
            ctx.bucket, ctx.key, lock.legal_hold, version_id=ctx.req.version_id
        )
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    return Result()


async def get_object_legal_hold(ctx: Context) -> Result:
    lock = await ctx.backend.get_object_lock(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    if lock.legal_hold is None:
        raise _no_lock_configuration()
    doc = XmlWriter("LegalHold")
    doc.el("Status", "ON" if lock.legal_hold else "OFF")
    doc.close("LegalHold")
    return Result(xml=bytes(doc))
