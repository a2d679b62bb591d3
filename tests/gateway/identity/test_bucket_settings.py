"""Bucket settings in the state store, on both databases."""

from __future__ import annotations

import pytest

from gateway.identity.bucket_settings import MAX_DOCUMENT
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore


async def test_put_get_replace_delete(store: IdentityStore) -> None:
    settings = store.bucket_settings
    assert await settings.all_for("b") == {}
    assert await settings.get("b", "policy") is None
    await settings.put("b", "policy", '{"Version": "2012-10-17"}')
    await settings.put("b", "cors", "<CORSConfiguration/>")
    await settings.put("other", "policy", "{}")
    assert await settings.all_for("b") == {
        "policy": '{"Version": "2012-10-17"}',
        "cors": "<CORSConfiguration/>",
    }
    await settings.put("b", "policy", "{}")
    assert await settings.get("b", "policy") == "{}"
    assert await settings.delete("b", "policy") is True
    assert await settings.delete("b", "policy") is False
    assert await settings.all_for("b") == {"cors": "<CORSConfiguration/>"}


async def test_forget_bucket_drops_only_that_bucket(store: IdentityStore) -> None:
    settings = store.bucket_settings
    for kind in ("acl", "policy", "cors"):
        await settings.put("gone", kind, kind)
    await settings.put("gone-not", "acl", "kept")
    assert await settings.forget_bucket("gone") == 3
    assert await settings.all_for("gone") == {}
    assert await settings.all_for("gone-not") == {"acl": "kept"}


async def test_limits_and_sharing(store: IdentityStore, open_store: OpenStore) -> None:
    with pytest.raises(ValueError):
        await store.bucket_settings.put("b", "policy", "x" * (MAX_DOCUMENT + 1))
    await store.bucket_settings.put("b", "ünïcode", "dökument")
    other = await open_store()  # another worker or host sees it at once
    try:
        assert await other.bucket_settings.get("b", "ünïcode") == "dökument"
        await other.bucket_settings.delete("b", "ünïcode")
        assert await store.bucket_settings.get("b", "ünïcode") is None
    finally:
        await other.close()
