"""The condition keys a policy may test, each with how it is read from the request.

One table, ``KEYS``: key name (matched case-insensitively, as IAM does) -> reader. A reader
returns the request's values for the key (a tuple: most keys are single-valued,
``s3:RequestObjectTagKeys`` is a set) or None when the request has no such key. The tag
keys ``s3:ExistingObjectTag/<tag>`` and ``s3:RequestObjectTag/<tag>`` are families: the tag
name after the slash is case-sensitive, like tag keys themselves.

``s3:ExistingObjectTag/<tag>`` is the one key the request itself does not carry: its value
is the tag set of the object the request acts on, which the S3 dispatcher reads from the
backend, and only for the actions of ``EXISTING_OBJECT_TAG_ACTIONS`` when a statement that
could apply mentions the key (``Statement.reads_existing_tags``, worked out at parse time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from operator import attrgetter

from gateway.authz.context import ConditionContext, PrincipalFacts, PrincipalKind

__all__ = [
    "ANONYMOUS_USERID",
    "EXISTING_OBJECT_TAG",
    "EXISTING_OBJECT_TAG_ACTIONS",
    "FAMILIES",
    "KEYS",
    "ConditionKey",
    "lookup_key",
    "reads_existing_tags",
]

Values = tuple[str, ...]
Reader = Callable[[PrincipalFacts, ConditionContext], Values | None]


def _one(value: str | None) -> Values | None:
    return None if value is None else (value,)


def _current_time(_: PrincipalFacts, ctx: ConditionContext) -> Values:
    return (ctx.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)


def _epoch_time(_: PrincipalFacts, ctx: ConditionContext) -> Values:
    return (str(int(ctx.now.timestamp())),)


ANONYMOUS_USERID = "anonymous"
"""``aws:userid`` of every anonymous caller, as in AWS."""


def _userid(p: PrincipalFacts, _: ConditionContext) -> Values:
    if p.is_anonymous:
        return (ANONYMOUS_USERID,)
    return (p.user_id or p.account_id or "",)


_PRINCIPAL_TYPES = {
    PrincipalKind.ANONYMOUS: "Anonymous",
    PrincipalKind.ACCOUNT: "Account",
    PrincipalKind.USER: "User",
}


def _tag_keys(_: PrincipalFacts, ctx: ConditionContext) -> Values | None:
    tags = ctx.request_object_tags
    return None if tags is None else tuple(tags)


def _grant(header: str) -> Reader:
    def read(_: PrincipalFacts, ctx: ConditionContext) -> Values | None:
        grants = ctx.acl_grants
        return None if grants is None else _one(grants.get(header))

    return read


GRANTS = ("read", "write", "read-acp", "write-acp", "full-control")
"""The ``x-amz-grant-<permission>`` headers, each a key ``s3:x-amz-grant-<permission>``."""


def _single(attribute: str) -> tuple[Reader, bool, str]:
    """A key whose one value is the context's ``attribute`` (absent when None): its
    reader, and the attribute named for ``ConditionKey.attribute``."""
    get = attrgetter(attribute)

    def read(_: PrincipalFacts, ctx: ConditionContext) -> Values | None:
        value: str | None = get(ctx)
        return None if value is None else (value,)

    return read, False, attribute


_READERS: dict[str, tuple[Reader, bool] | tuple[Reader, bool, str]] = {
    # name: (reader, multi-valued[, the one context attribute it reads: _single])
    "aws:SourceIp": _single("source_ip"),
    "aws:SecureTransport": (lambda p, c: ("true" if c.secure_transport else "false",), False),
    "aws:CurrentTime": (_current_time, False),
    "aws:EpochTime": (_epoch_time, False),
    "aws:PrincipalAccount": (lambda p, c: _one(p.account_id), False),
    "aws:userid": (_userid, False),
    "aws:username": (lambda p, c: _one(p.user_name), False),
    "aws:PrincipalType": (lambda p, c: (_PRINCIPAL_TYPES[p.kind],), False),
    "s3:prefix": _single("prefix"),
    "s3:delimiter": _single("delimiter"),
    "s3:max-keys": _single("max_keys"),
    "s3:x-amz-acl": _single("acl"),
    "s3:x-amz-server-side-encryption": _single("server_side_encryption"),
    "s3:RequestObjectTagKeys": (_tag_keys, True),
    "s3:VersionId": _single("version_id"),
    "s3:signatureversion": _single("signature_version"),
    "s3:authType": _single("auth_type"),
    "s3:x-amz-content-sha256": _single("content_sha256"),
    # conditional writes and deletes: a policy can demand them ("Null": "false")
    "s3:if-match": _single("if_match"),
    "s3:if-none-match": _single("if_none_match"),
    # writes: present only for the actions AWS gives them to (gateway.s3.access_context)
    "s3:x-amz-storage-class": _single("storage_class"),
    "s3:x-amz-copy-source": _single("copy_source"),
    "s3:x-amz-metadata-directive": _single("metadata_directive"),
    **{f"s3:x-amz-grant-{name}": (_grant(f"x-amz-grant-{name}"), False) for name in GRANTS},
    "s3:object-lock-mode": _single("lock_mode"),
    "s3:object-lock-retain-until-date": _single("lock_retain_until"),
    "s3:object-lock-remaining-retention-days": _single("lock_remaining_days"),
    "s3:object-lock-legal-hold": _single("lock_legal_hold"),
    "s3:ResourceAccount": _single("resource_account"),
    "s3:TlsVersion": _single("tls_version"),
    # HTTP headers of every request, the client's to choose: hot-link protection, not access
    # control (AWS's warning, docs/access-control.md)
    "aws:Referer": _single("referer"),
    "aws:UserAgent": _single("user_agent"),
}


@dataclass(frozen=True, slots=True)
class ConditionKey:
    name: str
    """AWS's spelling (and, for tag keys, the tag name as written)."""
    read: Reader
    multi_valued: bool = False
    existing_object: bool = False
    """Read from the existing object's tags, not from the request (``s3:ExistingObjectTag``)."""
    attribute: str | None = None
    """The ``ConditionContext`` attribute the key's values are made of, alone (a key of
    :func:`_single`): the value of that attribute tells what ``read`` returns, so a memo
    may keep it instead of calling ``read`` (``gateway.authz.evaluate``). None for keys
    reading the caller, several attributes, or a tag family."""


KEYS: dict[str, ConditionKey] = {
    name.lower(): ConditionKey(
        name, entry[0], entry[1], attribute=entry[2] if len(entry) == 3 else None
    )
    for name, entry in _READERS.items()
}
"""Every fixed condition key, by lower-case name."""


def _tag_reader(attribute: str, tag: str) -> Reader:
    def read(_: PrincipalFacts, ctx: ConditionContext) -> Values | None:
        tags: Mapping[str, str] | None = getattr(ctx, attribute)
        if tags is None or tag not in tags:
            return None
        return (tags[tag],)

    return read


EXISTING_OBJECT_TAG = "s3:ExistingObjectTag/"
_TAG_FAMILIES = {
    EXISTING_OBJECT_TAG.lower(): (EXISTING_OBJECT_TAG, "existing_object_tags"),
    "s3:requestobjecttag/": ("s3:RequestObjectTag/", "request_object_tags"),
}
FAMILIES: tuple[str, ...] = tuple(spelling for spelling, _ in _TAG_FAMILIES.values())
"""The key families (AWS's spelling, up to the slash): ``<family><tag name>`` is a key."""

EXISTING_OBJECT_TAG_ACTIONS = frozenset(
    f"s3:{name}"
    for name in (
        "GetObject",
        "GetObjectVersion",
        "GetObjectAcl",
        "GetObjectVersionAcl",
        "PutObjectAcl",
        "PutObjectVersionAcl",
        "GetObjectTagging",
        "GetObjectVersionTagging",
        "PutObjectTagging",
        "PutObjectVersionTagging",
        "DeleteObjectTagging",
        "DeleteObjectVersionTagging",
        "GetObjectAttributes",
        "GetObjectVersionAttributes",
        "GetObjectRetention",
        "PutObjectRetention",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
        "GetObjectTorrent",
        "GetObjectVersionTorrent",
        "RestoreObject",
    )
)
"""The actions whose requests carry ``s3:ExistingObjectTag/<tag>``: those acting on an
existing object. Not PutObject, DeleteObject and DeleteObjectVersion (AWS: "you cannot
create a policy to grant or deny a user permissions to delete or overwrite an object based
on its existing tags"), nor bucket actions."""


_EXISTING_PREFIX = EXISTING_OBJECT_TAG.lower()


def reads_existing_tags(name: str) -> bool:
    """Whether a key (or policy variable) named so is ``s3:ExistingObjectTag/<tag>``."""
    return name.lower().startswith(_EXISTING_PREFIX)


def lookup_key(name: str) -> ConditionKey | None:
    """The key a policy names (any case), or None when the gateway does not know it."""
    fixed = KEYS.get(name.lower())
    if fixed is not None:
        return fixed
    for prefix, (spelling, attribute) in _TAG_FAMILIES.items():
        if name.lower().startswith(prefix):
            tag = name[len(prefix) :]
            if not tag:
                return None
            existing = spelling == EXISTING_OBJECT_TAG
            return ConditionKey(
                spelling + tag, _tag_reader(attribute, tag), existing_object=existing
            )
    return None
