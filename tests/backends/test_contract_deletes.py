"""The contract for conditional deletes (DeleteObject's ``If-Match``, DeleteObjects'
``<ETag>``): every backend (filesystem, s3 over moto, s3 over SeaweedFS).

S3 evaluates them against the key's current object, atomically with the delete: a
mismatch is ``PreconditionFailed``, a key without a current object (missing, or a delete
marker on top) ``NoSuchKey``, ``*`` matches any current object. The s3 backend over moto
passes DeleteObject's ``If-Match`` on (``MOTO_CONDITIONAL_WRITES``) and deletes keys with
an ``<ETag>`` one by one (moto ignores the element); over SeaweedFS both go upstream. A
store not configured to decide them refuses (``NotImplemented``), never deletes.
"""

from __future__ import annotations

import asyncio
import uuid

from backends.s3 import S3Backend, UpstreamConfig
from backends.types import ObjectMeta
from tests.backends.test_contract import Env, code_of, payload
from tests.backends.upstream_server import UpstreamServer

WRONG = "0123456789abcdef0123456789abcdef"


async def _put(env: Env, bucket: str, key: str, data: bytes) -> str:
    info = await env.backend.put_object(
        bucket, key, payload(data), ObjectMeta(), size_hint=len(data)
    )
    return info.etag


async def test_conditional_delete_match_mismatch_missing(env: Env) -> None:
    b = env.backend
    await b.create_bucket("cdel")
    etag = await _put(env, "cdel", "k", b"first")
    assert await code_of(b.delete_object("cdel", "k", if_match=WRONG)) == "PreconditionFailed"
    assert await env.get("cdel", "k") == b"first"
    await b.delete_object("cdel", "k", if_match=etag)
    assert await code_of(b.head_object("cdel", "k")) == "NoSuchKey"
    # If-Match names an object: a missing key is NoSuchKey (an unconditional delete: 204)
    assert await code_of(b.delete_object("cdel", "k", if_match=etag)) == "NoSuchKey"
    assert await code_of(b.delete_object("cdel", "k", if_match="*")) == "NoSuchKey"
    await _put(env, "cdel", "k", b"second")
    await b.delete_object("cdel", "k", if_match="*")  # any current object
    assert await code_of(b.head_object("cdel", "k")) == "NoSuchKey"


async def test_a_refused_conditional_delete_keeps_the_object(env: Env) -> None:
    b = env.backend
    await b.create_bucket("ckeep")
    old = await _put(env, "ckeep", "k", b"v1")
    await _put(env, "ckeep", "k", b"v2")  # replaced: the old ETag no longer names it
    assert await code_of(b.delete_object("ckeep", "k", if_match=old)) == "PreconditionFailed"
    assert await env.get("ckeep", "k") == b"v2"


async def test_conditional_delete_in_a_versioned_bucket(env: Env) -> None:
    """The current version decides; the delete then adds a marker as usual, after which
    the key has no current object (NoSuchKey, even for ``*``). A version id with a
    condition is not implemented (S3 evaluates against the current version only)."""
    b = env.backend
    await b.create_bucket("cdelv")
    await b.put_bucket_versioning("cdelv", "Enabled")
    old = await _put(env, "cdelv", "k", b"v1")
    latest = await _put(env, "cdelv", "k", b"v2")
    assert await code_of(b.delete_object("cdelv", "k", if_match=old)) == "PreconditionFailed"
    current = await b.head_object("cdelv", "k")
    assert current.etag == latest
    assert current.version_id is not None
    refused = b.delete_object("cdelv", "k", version_id=current.version_id, if_match=latest)
    assert await code_of(refused) == "NotImplemented"
    done = await b.delete_object("cdelv", "k", if_match=latest)
    assert done.delete_marker and done.delete_marker_version_id
    assert await code_of(b.delete_object("cdelv", "k", if_match=latest)) == "NoSuchKey"
    assert await code_of(b.delete_object("cdelv", "k", if_match="*")) == "NoSuchKey"
    page = await b.list_object_versions("cdelv")
    assert len(page.versions) == 3  # both versions kept, one marker on top
    assert [v.delete_marker for v in page.versions] == [True, False, False]
    assert page.versions[0].is_latest


async def test_delete_objects_with_etags_decides_each_key(env: Env) -> None:
    b = env.backend
    await b.create_bucket("cdels")
    etags = {k: await _put(env, "cdels", k, k.encode()) for k in ("a", "b", "d", "e")}
    keys = [("a", None), ("b", None), ("c", None), ("d", None), ("e", None)]
    conditions = [etags["a"], WRONG, etags["a"], None, "*"]
    results = await b.delete_objects("cdels", keys, etags=conditions)
    assert [r.key for r in results] == ["a", "b", "c", "d", "e"]
    assert [r.error_code for r in results] == [
        None,
        "PreconditionFailed",
        "NoSuchKey",
        None,
        None,
    ]
    page = await b.list_objects("cdels")
    assert [o.key for o in page.objects] == ["b"]
    assert await env.get("cdels", "b") == b"b"


async def test_a_conditional_delete_never_removes_a_newer_object(env: Env) -> None:
    """The race: PUTs of new bytes run while a delete conditioned on the old ETag is
    under way. Whichever comes first, the delete never removes what a PUT wrote (a check
    made before the delete, outside its transaction, could); it answers 204 (it came
    first), 412 or 409, and the key holds one of the new bodies afterwards."""
    b = env.backend
    await b.create_bucket("crace")
    outcomes: set[str] = set()
    for round_ in range(8):
        old = await _put(env, "crace", "k", b"old %d" % round_)
        new = [b"new %d %d" % (round_, i) for i in range(3)]

        async def conditional_delete(etag: str = old) -> str:
            return await code_of(b.delete_object("crace", "k", if_match=etag))

        answers = await asyncio.gather(
            _put(env, "crace", "k", new[0]),
            conditional_delete(),
            _put(env, "crace", "k", new[1]),
            _put(env, "crace", "k", new[2]),
        )
        outcome = answers[1]
        assert outcome in {"no error", "PreconditionFailed", "ConditionalRequestConflict"}
        outcomes.add(outcome)
        assert await env.get("crace", "k") in new, (round_, outcome)
    assert outcomes  # the loop ran


async def test_a_store_not_deciding_conditional_deletes_refuses_them(
    moto_server: UpstreamServer,
) -> None:
    """An upstream not configured to decide If-Match on deletes: NotImplemented, and
    nothing is deleted, not even a DeleteObjects key without a condition."""
    backend = S3Backend(
        UpstreamConfig(
            endpoint_url=moto_server.endpoint_url,
            access_key_id="contract-key",
            secret_access_key="contract-secret",
            bucket_prefix=f"t{uuid.uuid4().hex[:12]}-",
            conditional_writes=("PutObject",),
        )
    )
    await backend.start()
    env = Env(backend, "s3", 5 * 1024 * 1024)
    try:
        await backend.create_bucket("nodec")
        etag = await _put(env, "nodec", "k", b"kept")
        await _put(env, "nodec", "plain", b"kept too")
        assert await code_of(backend.delete_object("nodec", "k", if_match=etag)) == (
            "NotImplemented"
        )
        assert await code_of(backend.delete_object("nodec", "k", if_match="*")) == (
            "NotImplemented"
        )
        batch = backend.delete_objects("nodec", [("plain", None), ("k", None)], etags=[None, etag])
        assert await code_of(batch) == "NotImplemented"
        assert await env.get("nodec", "k") == b"kept"
        assert await env.get("nodec", "plain") == b"kept too"
    finally:
        await backend.close()
