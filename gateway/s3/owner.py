"""``Owner`` (and ``Initiator``) elements: the canonical id and display name of the account
that owns a bucket, an object or an upload.

An account's canonical id comes from its id (``gateway.principal.canonical_id_for``); the
display name from the accounts table through its in-process cache (names never change).
The system account is the single-tenant owner of old: id ``sha256("nfyio-gateway
owner")``, display name ``nfyio``. Anonymous initiators are shown as AWS shows them.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.authz import ANONYMOUS_INITIATOR, CanonicalUser
from gateway.identity.store import IdentityStore
from gateway.principal import canonical_id_for
from gateway.s3.bucket_facts import BucketFacts
from gateway.s3.xml import XmlWriter, escape
from sigv4.records import record

__all__ = [
    "ANONYMOUS_OWNER",
    "ListingOwners",
    "OwnerName",
    "listing_owners",
    "owner_name",
    "write_owner",
]


@record
class OwnerName:
    id: str
    display_name: str

    @property
    def user(self) -> CanonicalUser:
        """The owner as an ACL grantee."""
        return CanonicalUser(self.id, self.display_name)

    def xml(self, element: str = "Owner") -> str:
        name = (
            f"<DisplayName>{escape(self.display_name)}</DisplayName>" if self.display_name else ""
        )
        return f"<{element}><ID>{self.id}</ID>{name}</{element}>"


ANONYMOUS_OWNER = OwnerName("65a011a29cdf8ec533ec3d1ccaae921c", "anonymous")
"""How S3 names an anonymous initiator."""


async def owner_name(store: IdentityStore, account_id: str) -> OwnerName:
    if account_id == ANONYMOUS_INITIATOR:
        return ANONYMOUS_OWNER
    account = await store.accounts.cached(account_id)
    return OwnerName(canonical_id_for(account_id), "" if account is None else account.display_name)


def write_owner(doc: XmlWriter, owner: OwnerName, element: str = "Owner") -> None:
    doc.raw(owner.xml(element))


@record
class ListingOwners:
    """The owners of a listing page's objects: the bucket owner's unless a row (objects
    another account wrote) says otherwise."""

    default: OwnerName
    rows: Mapping[str, Mapping[str, OwnerName]]
    """key -> version id -> owner, each key's versions oldest first."""

    def xml(self, key: str, version_id: str | None = None, *, latest: bool = True) -> str:
        """``Owner`` of the key's current version (``latest``) or of ``version_id``."""
        versions = self.rows.get(key)
        if not versions:
            return self.default.xml()
        if latest:
            return list(versions.values())[-1].xml()
        found = versions.get(version_id or "null")
        return (found or self.default).xml()


async def listing_owners(
    store: IdentityStore, bucket: BucketFacts, first: str | None, last: str | None
) -> ListingOwners:
    """For a page whose keys run from ``first`` to ``last``: one range read, and only in
    a bucket holding other accounts' objects."""
    assert bucket.owner is not None
    default = await owner_name(store, bucket.owner.account_id)
    if first is None or last is None or not bucket.foreign or not bucket.ownership.acls_enabled:
        return ListingOwners(default, {})
    found = await store.object_acls.owners_between(bucket.name, first, last)
    names: dict[str, OwnerName] = {}
    rows: dict[str, dict[str, OwnerName]] = {}
    for key, versions in found.items():
        for version, account in versions.items():
            if account not in names:
                names[account] = await owner_name(store, account)
            rows.setdefault(key, {})[version] = names[account]
    return ListingOwners(default, rows)
