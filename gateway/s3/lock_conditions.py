"""The Object Lock values a PutObjectRetention or PutObjectLegalHold body asks for, read
before the access decision: the bucket policy keys ``s3:object-lock-mode``,
``s3:object-lock-retain-until-date``, ``s3:object-lock-remaining-retention-days`` (the
body's ``<Retention>``) and ``s3:object-lock-legal-hold`` (``<LegalHold>``) read them, as
they read a write's ``x-amz-object-lock-*`` headers (``S3Request.object_lock``).

The handlers (``gateway/s3/object_lock.py``) read the body with :func:`lock_from_root`
too, so what they apply is what the decision saw: a document they would answer
``MalformedXML`` is answered so here, before the decision. A ``<Retention/>`` without a
mode (the removal of a retention period) asks for none: the keys are absent.
"""

from __future__ import annotations

from lxml import etree

from backends.types import ObjectLock
from gateway.s3.errors import S3Error
from gateway.s3.lock_headers import parse_mode, parse_timestamp
from gateway.s3.xml import local, parse_xml, sole_text

__all__ = ["BODY_LOCK_OPERATIONS", "lock_from_document", "lock_from_root"]

BODY_LOCK_OPERATIONS = frozenset({"PutObjectRetention", "PutObjectLegalHold"})
"""The operations whose body holds the Object Lock values their decision reads."""


def lock_from_document(operation: str, document: bytes) -> ObjectLock:
    """What ``document`` (the body of ``operation``, one of
    :data:`BODY_LOCK_OPERATIONS`) asks for; ``MalformedXML`` as its handler answers."""
    return lock_from_root(operation, parse_xml(document))


def lock_from_root(operation: str, root: etree._Element) -> ObjectLock:
    """What the parsed body ``root`` of ``operation`` asks for: a ``<LegalHold>`` with
    ``<Status>`` ``ON`` or ``OFF``, or a ``<Retention>`` with both ``<Mode>`` and
    ``<RetainUntilDate>`` or neither; else ``MalformedXML``."""
    if operation == "PutObjectLegalHold":
        if local(root.tag) != "LegalHold":
            raise S3Error("MalformedXML")
        status = sole_text(root, "Status")
        if status not in ("ON", "OFF"):
            raise S3Error("MalformedXML")
        return ObjectLock(legal_hold=status == "ON")
    if local(root.tag) != "Retention":
        raise S3Error("MalformedXML")
    mode_text = sole_text(root, "Mode")
    until_text = sole_text(root, "RetainUntilDate")
    if mode_text is None and until_text is None:
        return ObjectLock()
    if mode_text is None or until_text is None:
        raise S3Error("MalformedXML")
    try:
        return ObjectLock(parse_mode(mode_text), parse_timestamp(until_text, "RetainUntilDate"))
    except S3Error as exc:
        raise S3Error("MalformedXML") from exc
