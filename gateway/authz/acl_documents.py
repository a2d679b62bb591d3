"""ACLs as clients send them and read them back: ``x-amz-acl`` / ``x-amz-grant-*``
headers, ``AccessControlPolicy`` XML bodies, and the XML GetBucketAcl/GetObjectAcl
answer (the grants exactly as set, in order).

Errors are S3's: a body that is not XML or not an ``AccessControlPolicy`` is
``MalformedACLError``; a bad grant header, group URI or canned name ``InvalidArgument``;
both a canned ACL and grant headers ``InvalidRequest``; headers and a body together
``UnexpectedContent``; an ``Owner`` other than the resource's owner ``AccessDenied``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from gateway.authz.acl import (
    AccessControlList,
    CanonicalUser,
    EmailGrantee,
    Grant,
    Grantee,
    Group,
    Permission,
    Target,
    canned_acl,
)
from gateway.authz.errors import AuthzError
from gateway.s3.errors import S3Error
from gateway.s3.xml import XmlWriter, child_text, children, local, parse_xml

__all__ = [
    "GRANT_HEADERS",
    "MAX_GRANTS",
    "acl_from_request",
    "parse_acl_xml",
    "parse_grant_headers",
    "render_acl_xml",
]

MAX_GRANTS = 100
"""S3's limit of grants in one ACL."""

GRANT_HEADERS: dict[str, Permission] = {
    "x-amz-grant-read": Permission.READ,
    "x-amz-grant-write": Permission.WRITE,
    "x-amz-grant-read-acp": Permission.READ_ACP,
    "x-amz-grant-write-acp": Permission.WRITE_ACP,
    "x-amz-grant-full-control": Permission.FULL_CONTROL,
}

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"  # lxml's name of xsi:type
_CANONICAL_ID = re.compile(r"[0-9a-fA-F]{64}")
_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|\Z)')
_GROUPS = {group.value: group for group in Group}


def _malformed(message: str = "The XML you provided was not well-formed.") -> AuthzError:
    return AuthzError("MalformedACLError", message)


def _canonical(grantee_id: str, display_name: str = "") -> CanonicalUser:
    if not _CANONICAL_ID.fullmatch(grantee_id):
        raise AuthzError("InvalidArgument", "Invalid id")
    return CanonicalUser(grantee_id.lower(), display_name)


def _group(uri: str) -> Group:
    group = _GROUPS.get(uri)
    if group is None:
        raise AuthzError("InvalidArgument", "Invalid group uri")
    return group


def _grantee(kind: str, value: str) -> Grantee:
    lowered = kind.lower()
    if lowered == "id":
        return _canonical(value)
    if lowered == "uri":
        return _group(value)
    if lowered == "emailaddress":
        if "@" not in value:
            raise AuthzError("InvalidArgument", "Invalid e-mail address")
        return EmailGrantee(value)
    raise AuthzError("InvalidArgument", f"Argument format not recognized: {kind}")


def _parse_grant_value(value: str) -> list[Grantee]:
    out: list[Grantee] = []
    pos = 0
    value = value.strip()
    while pos < len(value):
        match = _ITEM.match(value, pos)
        if match is None or match.end() == pos:
            raise AuthzError("InvalidArgument", "Argument format not recognized")
        text = match.group(2) if match.group(2) is not None else match.group(3)
        out.append(_grantee(match.group(1), text))
        pos = match.end()
    if not out:
        raise AuthzError("InvalidArgument", "Argument format not recognized")
    return out


def parse_grant_headers(headers: Mapping[str, str]) -> list[Grant]:
    """Grants from ``x-amz-grant-*`` headers (lower-case names), in header-table order:
    ``x-amz-grant-read: id="...", uri="...", emailAddress="..."``."""
    grants: list[Grant] = []
    for name, permission in GRANT_HEADERS.items():
        value = headers.get(name)
        if value is None:
            continue
        grants += [Grant(g, permission) for g in _parse_grant_value(value)]
    if len(grants) > MAX_GRANTS:
        raise AuthzError("InvalidArgument", f"An ACL can have at most {MAX_GRANTS} grants")
    return grants


def _xml_grantee(element: etree._Element) -> Grantee:
    kind = element.get(_XSI_TYPE)
    if kind == "CanonicalUser":
        grantee_id = child_text(element, "ID")
        if not grantee_id:
            raise _malformed()
        return _canonical(grantee_id.strip(), (child_text(element, "DisplayName") or "").strip())
    if kind == "Group":
        uri = child_text(element, "URI")
        if not uri:
            raise _malformed()
        return _group(uri.strip())
    if kind == "AmazonCustomerByEmail":
        email = child_text(element, "EmailAddress")
        if not email or "@" not in email:
            raise _malformed()
        return EmailGrantee(email.strip())
    raise _malformed()


def parse_acl_xml(body: bytes, *, owner: CanonicalUser) -> AccessControlList:
    """An ``AccessControlPolicy`` document for a resource owned by ``owner``."""
    try:
        root = parse_xml(body, error_code="MalformedACLError")
    except S3Error as exc:
        raise _malformed() from exc
    if local(root.tag) != "AccessControlPolicy":
        raise _malformed()
    owners = children(root, "Owner")
    owner_id = child_text(owners[0], "ID") if len(owners) == 1 else None
    if not owner_id:
        raise _malformed()
    if owner_id.strip().lower() != owner.id.lower():
        raise AuthzError("AccessDenied", "The Owner in the ACL is not the owner of the resource")
    lists = children(root, "AccessControlList")
    if len(lists) != 1:
        raise _malformed()
    grants: list[Grant] = []
    for element in children(lists[0], "Grant"):
        grantees = children(element, "Grantee")
        permission_text = child_text(element, "Permission")
        if len(grantees) != 1 or permission_text is None:
            raise _malformed()
        try:
            permission = Permission(permission_text.strip())
        except ValueError as exc:
            raise _malformed() from exc
        grants.append(Grant(_xml_grantee(grantees[0]), permission))
        if len(grants) > MAX_GRANTS:
            raise _malformed(f"An ACL can have at most {MAX_GRANTS} grants")
    return AccessControlList(owner, tuple(grants))


def acl_from_request(
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    owner: CanonicalUser,
    bucket_owner: CanonicalUser | None = None,
    target: Target,
) -> AccessControlList | None:
    """The ACL a request sets (CreateBucket, PutObject, CopyObject, CreateMultipartUpload,
    PutBucketAcl, PutObjectAcl), or None when it names none. ``headers`` have lower-case
    names; ``body`` is the PutBucketAcl/PutObjectAcl document, if any. Grants by e-mail
    stay unresolved until :meth:`AccessControlList.resolve`."""
    canned = headers.get("x-amz-acl")
    grant_headers = [name for name in GRANT_HEADERS if name in headers]
    has_body = body is not None and bool(body.strip())
    if canned is not None and grant_headers:
        raise AuthzError(
            "InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if has_body and (canned is not None or grant_headers):
        raise AuthzError("UnexpectedContent", "This request does not support content")
    if canned is not None:
        return canned_acl(canned.strip(), owner=owner, bucket_owner=bucket_owner, target=target)
    if grant_headers:
        return AccessControlList(owner, tuple(parse_grant_headers(headers)))
    if has_body:
        assert body is not None
        return parse_acl_xml(body, owner=owner)
    return None


def _write_grantee(doc: XmlWriter, grantee: Grantee) -> None:
    if isinstance(grantee, CanonicalUser):
        doc.open("Grantee", attrs={"xmlns:xsi": XSI, "xsi:type": "CanonicalUser"})
        doc.el("ID", grantee.id)
        if grantee.display_name:
            doc.el("DisplayName", grantee.display_name)
    elif isinstance(grantee, Group):
        doc.open("Grantee", attrs={"xmlns:xsi": XSI, "xsi:type": "Group"})
        doc.el("URI", grantee.value)
    else:
        doc.open("Grantee", attrs={"xmlns:xsi": XSI, "xsi:type": "AmazonCustomerByEmail"})
        doc.el("EmailAddress", grantee.email)
    doc.close("Grantee")


def render_acl_xml(acl: AccessControlList) -> bytes:
    """The ``AccessControlPolicy`` document GetBucketAcl/GetObjectAcl answer."""
    doc = XmlWriter("AccessControlPolicy")
    doc.open("Owner")
    doc.el("ID", acl.owner.id)
    if acl.owner.display_name:
        doc.el("DisplayName", acl.owner.display_name)
    doc.close("Owner")
    doc.open("AccessControlList")
    for grant in acl.grants:
        doc.open("Grant")
        _write_grantee(doc, grant.grantee)
        doc.el("Permission", grant.permission.value)
        doc.close("Grant")
    doc.close("AccessControlList")
    doc.close("AccessControlPolicy")
    return bytes(doc)
