"""ACLs and public access blocks as the gateway stores them: compact JSON text in the
state store (bucket settings ``acl`` and ``public_access_block``, object and upload rows).

Only resolved ACLs are stored (grants by e-mail became canonical users when the ACL was
set), so what is read back is exactly what GetBucketAcl/GetObjectAcl answer.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.authz.acl import AccessControlList, CanonicalUser, Grant, Grantee, Group, Permission
from gateway.authz.public_access import PublicAccessBlock

__all__ = ["acl_from_json", "acl_to_json", "block_from_json", "block_to_json"]

_GROUPS = {group.value: group for group in Group}
_BLOCK_FIELDS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _grantee_json(grantee: Grantee) -> dict[str, str]:
    if isinstance(grantee, CanonicalUser):
        return {"id": grantee.id, "name": grantee.display_name}
    if isinstance(grantee, Group):
        return {"uri": grantee.value}
    raise ValueError("an ACL is stored only once its e-mail grantees are resolved")


def acl_to_json(acl: AccessControlList) -> str:
    document = {
        "owner": _grantee_json(acl.owner),
        "grants": [
            {**_grantee_json(g.grantee), "permission": g.permission.value} for g in acl.grants
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def _grantee(item: dict[str, Any]) -> Grantee:
    if "uri" in item:
        return _GROUPS[item["uri"]]
    return CanonicalUser(str(item["id"]), str(item.get("name", "")))


def acl_from_json(text: str) -> AccessControlList:
    document = json.loads(text)
    owner = _grantee(document["owner"])
    assert isinstance(owner, CanonicalUser)
    grants = tuple(
        Grant(_grantee(item), Permission(item["permission"])) for item in document["grants"]
    )
    return AccessControlList(owner, grants)


def block_to_json(block: PublicAccessBlock) -> str:
    values = (
        block.block_public_acls,
        block.ignore_public_acls,
        block.block_public_policy,
        block.restrict_public_buckets,
    )
    return json.dumps(dict(zip(_BLOCK_FIELDS, values, strict=True)), separators=(",", ":"))


def block_from_json(text: str) -> PublicAccessBlock:
    document = json.loads(text)
    return PublicAccessBlock(*(bool(document.get(name, False)) for name in _BLOCK_FIELDS))
