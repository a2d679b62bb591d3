"""Buckets and the accounts that own them: creating (claiming the global name), listing
an account's buckets, deleting (forgetting the settings). Shared by the S3 listener and
``/v1/buckets``.

Bucket names stay global. CreateBucket first claims the name in the state store (the
``owner`` setting, written only if absent: atomic on both databases, so of two accounts
racing for a name exactly one wins, and an account at its bucket limit is refused),
then creates the bucket in the backend; a failed creation releases the claim, unless the
bucket appeared in the backend only after the claim: then another creation by the same
account (which found the claim its own, on another host or worker) made it, and the
claim stays (``BucketAlreadyOwnedByYou``). A deleted bucket's name stays its former
owner's for ``bucket_cache_seconds`` and a second (hosts may still hold that owner in
their caches): another account's CreateBucket meanwhile answers ``OperationAborted``, as
AWS does for a name reused too soon. A bucket without an owner setting (made before
accounts, or directly in the upstream store) belongs to the system account.
"""

from __future__ import annotations

from collections.abc import Mapping

from backends.base import Backend
from backends.errors import BackendError
from backends.types import BucketInfo
from gateway.identity.bucket_settings import BucketNameHeld
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.s3.bucket_facts import BLOCKED_ENCRYPTION, OWNER, SSE_C, bucket_exists

__all__ = ["create_owned_bucket", "delete_owned_bucket", "owned_buckets"]

_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_HELD = (
    "A conflicting conditional operation is currently in progress against this resource. Try again."
)
"""AWS's words when a bucket name is reused too soon after its deletion."""


async def create_owned_bucket(
    store: IdentityStore,
    backend: Backend,
    bucket: str,
    account_id: str,
    *,
    region: str,
    most: int,
    settings: Mapping[str, str] | None = None,
    object_lock: bool = False,
    block_sse_c: bool = False,
) -> BucketInfo:
    """Create ``bucket`` owned by ``account_id`` with its first ``settings`` (ACL,
    ownership), with Object Lock when ``object_lock``, with SSE-C blocked when
    ``block_sse_c`` (``s3.block_sse_c_on_new_buckets``, for S3's and the REST API's
    creations alike). Raises ``BackendError`` ``BucketAlreadyExists`` (another account's
    name) or ``BucketAlreadyOwnedByYou``, ``OperationAborted`` when another account
    deleted a bucket of that name a moment ago (``BucketSettingsStore.claim_owner``:
    other hosts may still take it for that account's), or what the backend raises;
    :class:`~gateway.identity.quota.AccountLimitReached` when the account owns ``most``
    already (``s3.max_buckets_per_account``), before anything is created;
    :class:`~gateway.identity.bucket_settings.AccountGone` when the account was deleted
    (after the request's credential was accepted), before anything is created."""
    if block_sse_c:
        settings = {**(settings or {}), BLOCKED_ENCRYPTION: SSE_C}
    names = store.bucket_settings
    # Whether the backend had the bucket before the claim: one it has only since was
    # made by a creation of this same account (the only one the claim let through),
    # on another host or worker, and stays this account's. The s3 backend's
    # create_bucket HEADs again, after the claim: not redundant. This one must come
    # before the claim (what it tells is the order of the two); that one is the
    # Backend contract (an existing bucket is an error) on stores that answer 200 to a
    # re-creation (AWS in us-east-1, moto), and, right before the create, keeps the
    # window in which a bucket made meanwhile (by that same account, or directly in the
    # store) is answered 200 as small as it can be. One HEAD more per CreateBucket only.
    existed = await bucket_exists(backend, bucket)
    try:
        claimed = await names.claim_owner(bucket, account_id, most=most)
    except BucketNameHeld:
        raise BackendError("OperationAborted", _HELD) from None
    if not claimed:
        holder = await names.get(bucket, OWNER)
        if holder != account_id:
            raise BackendError("BucketAlreadyExists")
    elif settings:
        for kind, document in settings.items():
            await names.put(bucket, kind, document)
    try:
        info = await backend.create_bucket(bucket, region=region, object_lock=object_lock)
    except BackendError as exc:
        if exc.code in _EXISTS and not (claimed and existed):
            # The claim is this account's (its own, or found so): so is the bucket.
            if exc.code == "BucketAlreadyOwnedByYou":
                raise
            raise BackendError("BucketAlreadyOwnedByYou", extra={"BucketName": bucket}) from exc
        if claimed:
            await names.forget_bucket(bucket)
            if exc.code in _EXISTS:
                # A bucket without an owner setting: the system account's.
                mine = account_id == SYSTEM_ACCOUNT_ID
                raise BackendError(
                    "BucketAlreadyOwnedByYou" if mine else "BucketAlreadyExists"
                ) from exc
        raise
    except BaseException:
        if claimed:
            await names.forget_bucket(bucket)
        raise
    if not claimed and settings:  # our own claim left by a creation that failed midway
        for kind, document in settings.items():
            await names.put(bucket, kind, document)
    return info


async def owned_buckets(
    store: IdentityStore, backend: Backend, account_id: str
) -> list[BucketInfo]:
    """The buckets of one account, in the backend's order."""
    owners = await store.bucket_settings.of_kind(OWNER)
    return [
        info
        for info in await backend.list_buckets()
        if owners.get(info.name, SYSTEM_ACCOUNT_ID) == account_id
    ]


async def delete_owned_bucket(store: IdentityStore, backend: Backend, bucket: str) -> None:
    """Delete the bucket, then forget everything the gateway kept about it, so that a
    bucket made again with the name starts afresh (and may belong to anyone).

    The two are not one transaction: a deletion whose forgetting failed (the state store
    unavailable: 503) leaves the settings of a bucket that is gone, and the client's
    retry finds no bucket. So a bucket the backend does not have (``NoSuchBucket``,
    confirmed by a HEAD) is forgotten too before the 404 goes out: its owner, ACL,
    policy and the rest never come back with a bucket made again, and the name and the
    owner's bucket quota are free again."""
    try:
        await backend.delete_bucket(bucket)
    except BackendError as exc:
        if exc.code != "NoSuchBucket" or await bucket_exists(backend, bucket):
            raise
        await _forget(store, bucket)
        raise
    await _forget(store, bucket)


async def _forget(store: IdentityStore, bucket: str) -> None:
    await store.object_acls.forget_bucket(bucket)
    await store.bucket_settings.forget_bucket(bucket)
