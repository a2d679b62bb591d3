"""What the state store says about a bucket, read once per request: its owner, ACL,
policy, public access block, ownership setting and whether it has object rows.

Every setting of a bucket comes from one indexed query
(``IdentityStore.bucket_settings.all_for``), itself answered from the bounded settings
cache while it is fresh (``gateway/identity/settings_cache.py``: a change made on this
host is seen at once, one made on another host within ``identity.bucket_cache_seconds``);
policies, ACLs, public access blocks and owners are parsed once per distinct document
and kept in small caches (a document's meaning never changes).

**Who owns a bucket.** The ``owner`` setting (an account id), written by CreateBucket.
A bucket without one was made before accounts existed (or directly in the upstream store)
and belongs to the system account; when a caller of another account (or an anonymous
one) names a bucket without an owner, the backend is asked whether it exists at all, so
a missing bucket is still ``NoSuchBucket`` for everyone and never someone's bucket.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import field

from backends.base import Backend
from backends.errors import BackendError
from gateway.authz import (
    AccessControlList,
    CanonicalUser,
    Grant,
    ObjectOwnership,
    Owner,
    Permission,
    Policy,
    PublicAccessBlock,
    parse_policy,
)
from gateway.authz.stored import acl_from_json, block_from_json
from gateway.identity.bucket_settings import OWNER_KIND
from gateway.identity.object_acls import bucket_flag
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal, canonical_id_for
from sigv4.memo import remember
from sigv4.records import record

__all__ = [
    "ACL",
    "BLOCKED_ENCRYPTION",
    "OWNER",
    "OWNERSHIP",
    "POLICY",
    "PUBLIC_ACCESS_BLOCK",
    "SSE_C",
    "BucketFacts",
    "bucket_exists",
    "load_bucket",
    "owner_of",
    "private_acl",
]

_NO_BLOCK = PublicAccessBlock()

# The bucket-setting kinds this feature owns (gateway/identity/bucket_settings.py).
OWNER = OWNER_KIND
ACL = "acl"
POLICY = "policy"
PUBLIC_ACCESS_BLOCK = "public_access_block"
OWNERSHIP = "ownership"
BLOCKED_ENCRYPTION = "blocked_encryption"
"""The encryption types new objects may not use (PutBucketEncryption's
``BlockedEncryptionTypes``): ``SSE-C``, the only one S3 can block, or absent."""
SSE_C = "SSE-C"


@functools.lru_cache(maxsize=4096)
def owner_of(account_id: str) -> Owner:
    return Owner(account_id, canonical_id_for(account_id))


def private_acl(owner: CanonicalUser) -> AccessControlList:
    """The ACL of a resource nobody set one on: its owner's ``FULL_CONTROL``."""
    return AccessControlList(owner, (Grant(owner, Permission.FULL_CONTROL),))


LARGE_POLICY_CHARS = 4 * 1024
"""Policies up to this long share 512 cache entries; longer ones (up to 20 KiB, kept
parsed at about 14 times their size) share 32, so that distinct large policies (one
bucket's policy rewritten again and again will do) cannot hold hundreds of MiB."""


def _policy(bucket: str, text: str) -> Policy:
    if len(text) <= LARGE_POLICY_CHARS:
        return _small_policy(bucket, text)
    return _large_policy(bucket, text)


@functools.lru_cache(maxsize=512)
def _small_policy(bucket: str, text: str) -> Policy:
    return parse_policy(text, bucket=bucket, stored=True)


@functools.lru_cache(maxsize=32)
def _large_policy(bucket: str, text: str) -> Policy:
    return parse_policy(text, bucket=bucket, stored=True)


@functools.lru_cache(maxsize=2048)
def parsed_acl(text: str) -> AccessControlList:
    return acl_from_json(text)


@functools.lru_cache(maxsize=512)
def _block(text: str) -> PublicAccessBlock:
    return block_from_json(text)


@record
class BucketFacts:
    name: str
    owner: Owner | None
    """None: the bucket does not exist (as far as the state store and backend know)."""
    settings: Mapping[str, str]
    """Every stored setting document, by kind."""
    block: PublicAccessBlock
    """The bucket's own public access block (what GetPublicAccessBlock answers)."""
    forced_block: bool
    """The gateway-wide setting forcing all four switches on."""
    has_rows: bool
    """Objects or uploads of this bucket have rows in ``object_acls``/``upload_acls``."""
    foreign: bool
    """Some row names another owner than the bucket owner."""
    # What every decision reads, worked out once with the facts (``_facts``, whose memo
    # hands them to the requests that follow) rather than by a property per read: ~3.4k
    # instructions a decision. Functions of ``settings`` and ``forced_block``, so not
    # compared. A remembered ACL is parsed from at most LOADED_MAX_CHARS of settings.
    effective_block: PublicAccessBlock = field(compare=False)
    """``block`` in force, given ``forced_block``."""
    acl: AccessControlList | None = field(compare=False)
    """The stored bucket ACL; None when never set (then :func:`private_acl`)."""
    ownership: ObjectOwnership = field(compare=False)

    @property
    def policy(self) -> Policy | None:
        # Parsed on each read through the bounded cache of parsed policies (kept on the
        # facts, up to LOADED_ENTRIES of them would outlive that cache's bound).
        text = self.settings.get(POLICY)
        return None if text is None else _policy(self.name, text)

    @property
    def sse_c_blocked(self) -> bool:
        """Writes naming a customer key (SSE-C) are refused (``BlockedEncryptionTypes``)."""
        return self.settings.get(BLOCKED_ENCRYPTION) == SSE_C

    @property
    def owner_id(self) -> str:
        """The owning account's id, for a bucket that exists (``existing_bucket``)."""
        assert self.owner is not None
        return self.owner.account_id

    def owned_by(self, principal: Principal) -> bool:
        return self.owner is not None and self.owner.account_id == principal.account_id


async def bucket_exists(backend: Backend, bucket: str) -> bool:
    """Whether the backend holds the bucket (one HeadBucket)."""
    try:
        await backend.head_bucket(bucket)
    except BackendError as exc:
        if exc.code == "NoSuchBucket":
            return False
        raise
    return True


async def load_bucket(
    store: IdentityStore,
    backend: Backend,
    bucket: str,
    principal: Principal,
    *,
    forced_block: bool,
) -> BucketFacts:
    settings = await store.bucket_settings.all_for(bucket)
    found = _loaded.get(bucket)
    if found is not None and found[0] is settings and found[1].forced_block == forced_block:
        return found[1]
    owner_id = settings.get(OWNER)
    owner: Owner | None
    if owner_id is not None:
        owner = owner_of(owner_id)
        facts = _facts(bucket, owner, settings, forced_block=forced_block)
        if sum(map(len, settings.values())) <= LOADED_MAX_CHARS:
            remember(_loaded, bucket, (settings, facts), LOADED_ENTRIES)
        return facts
    elif principal.account_id == SYSTEM_ACCOUNT_ID or await bucket_exists(backend, bucket):
        # The system account's own requests need no look: its scopes decide either way
        # and the handler answers NoSuchBucket for a bucket that does not exist.
        owner = owner_of(SYSTEM_ACCOUNT_ID)
    else:
        owner = None
    return _facts(bucket, owner, settings, forced_block=forced_block)


LOADED_ENTRIES = 1024
"""Buckets whose :class:`BucketFacts` :func:`load_bucket` remembers (emptied when full)."""
LOADED_MAX_CHARS = 32 * 1024
"""Buckets whose settings documents hold more characters than this are not remembered:
their mappings stay the settings cache's to bound (``MAX_CACHED_CHARS``: a bucket's reach
~350 KiB), so this memo holds at most 32 Mi characters of them."""
_loaded: dict[str, tuple[Mapping[str, str], BucketFacts]] = {}
"""The facts of a bucket with an ``owner`` setting, by the bucket's name, with the
settings mapping they were made of: they answer while the settings cache hands out that
same read-only mapping (until the bucket's settings change or expire, when a new mapping
replaces the entry: one entry a bucket, never one per mapping read). The facts are a
function of that mapping, the bucket's name and ``forced_block`` alone (the caller
matters only to a bucket without an owner, which is not remembered). An immutable
record, shared by the requests that load it; building it again cost ~2k instructions per
request."""


def _facts(
    bucket: str, owner: Owner | None, settings: Mapping[str, str], *, forced_block: bool
) -> BucketFacts:
    block_text = settings.get(PUBLIC_ACCESS_BLOCK)
    block = _NO_BLOCK if block_text is None else _block(block_text)
    has_rows, foreign = bucket_flag(settings)
    acl_text = settings.get(ACL)
    ownership = settings.get(OWNERSHIP)
    return BucketFacts(
        name=bucket,
        owner=owner,
        settings=settings,
        block=block,
        forced_block=forced_block,
        has_rows=has_rows,
        foreign=foreign,
        effective_block=block.effective(force_all=forced_block),
        acl=None if acl_text is None else parsed_acl(acl_text),
        ownership=(
            ObjectOwnership.OBJECT_WRITER if ownership is None else ObjectOwnership(ownership)
        ),
    )
