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

_READERS: dict[str, tuple[Reader, bool]] = {
    # name: (reader, multi-valued)
    "aws:SourceIp": (lambda p, c: _one(c.source_ip), False),
    "aws:SecureTransport": (lambda p, c: ("true" if c.secure_transport else "false",), False),
    "aws:CurrentTime": (_current_time, False),
    "aws:EpochTime": (_epoch_time, False),
    "aws:PrincipalAccount": (lambda p, c: _one(p.account_id), False),
    "aws:userid": (_userid, False),
    "aws:username": (lambda p, c: _one(p.user_name), False),
    "aws:PrincipalType": (lambda p, c: (_PRINCIPAL_TYPES[p.kind],), False),
    "s3:prefix": (lambda p, c: _one(c.prefix), False),
    "s3:delimiter": (lambda p, c: _one(c.delimiter), False),
    "s3:max-keys": (lambda p, c: _one(c.max_keys), False),
    "s3:x-amz-acl": (lambda p, c: _one(c.acl), False),
    "s3:x-amz-server-side-encryption": (lambda p, c: _one(c.server_side_encryption), False),
    "s3:RequestObjectTagKeys": (_tag_keys, True),
    "s3:VersionId": (lambda p, c: _one(c.version_id), False),
    "s3:signatureversion": (lambda p, c: _one(c.signature_version), False),
    "s3:authType": (lambda p, c: _one(c.auth_type), False),
    "s3:x-amz-content-sha256": (lambda p, c: _one(c.content_sha256), False),
    # conditional writes and deletes: a policy can demand them ("Null": "false")
    "s3:if-match": (lambda p, c: _one(c.if_match), False),
    "s3:if-none-match": (lambda p, c: _one(c.if_none_match), False),
    # writes: present only for the actions AWS gives them to (gateway.s3.access_context)
    "s3:x-amz-storage-class": (lambda p, c: _one(c.storage_class), False),
    "s3:x-amz-copy-source": (lambda p, c: _one(c.copy_source), False),
    "s3:x-amz-metadata-directive": (lambda p, c: _one(c.metadata_directive), False),
    **{f"s3:x-amz-grant-{name}": (_grant(f"x-amz-grant-{name}"), False) for name in GRANTS},
    "s3:object-lock-mode": (lambda p, c: _one(c.lock_mode), False),
    "s3:object-lock-retain-until-date": (lambda p, c: _one(c.lock_retain_until), False),
    "s3:object-lock-remaining-retention-days": (lambda p, c: _one(c.lock_remaining_days), False),
    "s3:object-lock-legal-hold": (lambda p, c: _one(c.lock_legal_hold), False),
    "s3:ResourceAccount": (lambda p, c: _one(c.resource_account), False),
    "s3:TlsVersion": (lambda p, c: _one(c.tls_version), False),
    # HTTP headers of every request, the client's to choose: hot-link protection, not access
    # control (AWS's warning, docs/access-control.md)
    "aws:Referer": (lambda p, c: _one(c.referer), False),
    "aws:UserAgent": (lambda p, c: _one(c.user_agent), False),
}


@dataclass(frozen=True, slots=True)
class ConditionKey:
    name: str
    """AWS's spelling (and, for tag keys, the tag name as written)."""
    read: Reader
    multi_valued: bool = False
    existing_object: bool = False
    """Read from the existing object's tags, not from the request (``s3:ExistingObjectTag``)."""


KEYS: dict[str, ConditionKey] = {
    name.lower(): ConditionKey(name, reader, multi) for name, (reader, multi) in _READERS.items()
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
