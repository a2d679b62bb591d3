"""The Object Lock values a PutObjectRetention or PutObjectLegalHold body asks for, read
before the access decision: the bucket policy keys ``s3:object-lock-mode``,
``s3:object-lock-retain-until-date``, ``s3:object-lock-remaining-retention-days`` (the
body's ``<Retention>``) and ``s3:object-lock-legal-hold`` (``<LegalHold>``) read them, as
they read a write's ``x-amz-object-lock-*`` headers (``S3Request.object_lock``).

The body is parsed once, here (by the dispatcher, :func:`lock_body`), into a
:class:`LockBody` carried on the request (``S3Request.lock_body``); the handlers
(``gateway/s3/object_lock.py``) apply it and do not read the document again, so what they
apply is what the decision saw. A document they would answer ``MalformedXML`` is answered
so here, before the decision; what they refuse after it (an event hold asked for, a date
in the past) is kept in the ``LockBody`` as the client wrote it. A ``<Retention/>``
without a mode (the removal of a retention period) asks for none: the keys are absent.
"""

from __future__ import annotations

from lxml import etree

from backends.types import ObjectLock
from gateway.s3.errors import S3Error
from gateway.s3.lock_headers import parse_mode, parse_timestamp
from gateway.s3.xml import children, leaf_text, local, parse_xml, sole_text
from sigv4.records import record

__all__ = ["BODY_LOCK_OPERATIONS", "LockBody", "event_hold_asked", "lock_body"]

BODY_LOCK_OPERATIONS = frozenset({"PutObjectRetention", "PutObjectLegalHold"})
"""The operations whose body holds the Object Lock values their decision reads."""


@record
class LockBody:
    """What a PutObjectRetention or PutObjectLegalHold body asks for, parsed once."""

    lock: ObjectLock
    """The retention (``<Mode>``, ``<RetainUntilDate>``; neither: remove it) or the legal
    hold; the dispatcher makes it ``S3Request.object_lock``, which the decision reads."""
    until_sent: str = ""
    """``<RetainUntilDate>`` as the client wrote it: a past date is refused with it as
    ``ArgumentValue`` (``lock_headers.check_future``), not with our reading of it."""
    event_hold: str | None = None
    """The Object Lock event-hold element a ``<Retention>`` asks for (not built:
    ``NotImplemented`` naming it, after the decision as for any operation not
    implemented), or None."""


def lock_body(operation: str, document: bytes) -> LockBody:
    """What ``document`` (the body of ``operation``, one of
    :data:`BODY_LOCK_OPERATIONS`) asks for: a ``<LegalHold>`` with ``<Status>`` ``ON`` or
    ``OFF``, or a ``<Retention>`` with both ``<Mode>`` and ``<RetainUntilDate>`` or
    neither; else ``MalformedXML``, as its handler answers."""
    root = parse_xml(document)
    if operation == "PutObjectLegalHold":
        if local(root.tag) != "LegalHold":
            raise S3Error("MalformedXML")
        status = sole_text(root, "Status")
        if status not in ("ON", "OFF"):
            raise S3Error("MalformedXML")
        return LockBody(ObjectLock(legal_hold=status == "ON"))
    if local(root.tag) != "Retention":
        raise S3Error("MalformedXML")
    mode_text = sole_text(root, "Mode")
    until_text = sole_text(root, "RetainUntilDate")
    if mode_text is None and until_text is None:
        # releasing an event hold is not a request to remove the retention
        held = event_hold_asked(root, ("EventHold", "EventHoldDuration"))
        if held is None and children(root, "EventHold"):
            held = "EventHold"
        return LockBody(ObjectLock(), event_hold=held)
    if mode_text is None or until_text is None:
        raise S3Error("MalformedXML")
    try:
        lock = ObjectLock(parse_mode(mode_text), parse_timestamp(until_text, "RetainUntilDate"))
    except S3Error as exc:
        raise S3Error("MalformedXML") from exc
    held = event_hold_asked(root, ("EventHold", "EventHoldDuration"))
    return LockBody(lock, until_text, held)


def event_hold_asked(element: etree._Element, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` (Object Lock event-hold elements) that ``element`` holds
    and that asks for something: ``<EventHold>OFF</EventHold>`` asks for nothing, as the
    header's ``OFF`` does."""
    for name in names:
        for found in children(element, name):
            if name == "EventHold" and leaf_text(found).strip() == "OFF":
                continue
            return name
    return None
