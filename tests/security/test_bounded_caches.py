"""Caches whose keys a client chooses stay bounded, whatever the client sends.

The class of bug: a per-worker cache keyed by object ids, keys or credentials that
grows with every distinct value a client makes the gateway read, until the worker runs
out of memory. Each cache on the request path charges what it keeps against a fixed
bound; an entry that costs nothing by its own measure (an empty body) must still count.
"""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import replace
from pathlib import Path

from backends.filesystem import FilesystemBackend
from backends.filesystem.encryption import MODE_MANAGED, OPENED_KEYS, KeySet, Sealer, unwrapper
from backends.filesystem.inline import _ENTRY_COST, INLINE_CACHE_BYTES, InlineCache
from backends.filesystem.metadb import ROW_CACHE_CHARS
from backends.sqlite_wal import ExactCache
from backends.types import Encryption, ObjectMeta
from gateway.authz.evaluate import _OUTCOMES, evaluate, resource_arn
from gateway.config import Config, CorsConfig
from gateway.identity.cache import LookupCache
from gateway.lifecycle.document import cached_lifecycle, lifecycle_document, parse_lifecycle
from gateway.s3 import headers as headers_module
from gateway.s3.bucket_facts import _policy as facts_policy
from gateway.s3.cors import ACTUAL_MEMO, _for_default, _for_document, actual_response_headers
from gateway.s3.cors_rules import parse_cors_xml, rules_from_json, rules_to_json
from gateway.s3.headers import OBJECT_HEADERS_CHARS, object_headers
from sigv4 import unsigned_amz_headers
from sigv4.auth import _parse_credential, _parse_signed_headers
from sigv4.errors import AuthorizationQueryParametersError
from sigv4.memo import remember
from tests.backends.test_contract import payload, read_all
from tests.backends.test_sqlite_wal import watched_db
from tests.gateway.authz.builders import OTHER, account, ctx, policy, stmt


def test_empty_inline_bodies_are_charged_for() -> None:
    """Ten thousand empty objects, each read once, must not keep ten thousand entries."""
    cache = InlineCache(max_bytes=100 * _ENTRY_COST)
    for n in range(10_000):
        cache.put(f"empty{n}", b"")
    assert len(cache) == 100 and cache.size == 100 * _ENTRY_COST
    assert cache.get("empty9999") == b"" and cache.get("empty0") is None


def test_the_row_cache_keeps_at_most_its_entries(tmp_path: Path) -> None:
    with watched_db(tmp_path / "db.sqlite") as (_, watch):
        cache: ExactCache[str, int] = ExactCache(watch, max_entries=50, max_weight=10_000)
        for n in range(5_000):
            _, marker = cache.get(f"key{n}")
            cache.put(f"key{n}", marker, n, 1)
        assert len(cache) == 50


def test_the_row_cache_keeps_at_most_its_weight(tmp_path: Path) -> None:
    """Rows of up to ``ROW_CACHE_MAX_CHARS`` characters each: the characters kept in all
    stay within the budget (8,192 such rows would hold 64 Mi), the newest stay, and a row
    heavier than the whole budget is not kept."""
    with watched_db(tmp_path / "db.sqlite") as (_, watch):
        cache: ExactCache[str, int] = ExactCache(watch, max_entries=8192, max_weight=10_000)
        for n in range(5_000):
            _, marker = cache.get(f"key{n}")
            cache.put(f"key{n}", marker, n, 999 + n % 3)
            assert cache._weight == sum(cache._weights.values()) <= 10_000
        assert len(cache) == 10 and cache.get("key4999")[0] == 4999
        cache.put("again", marker, 1, 500)
        cache.put("again", marker, 2, 700)  # stored again: its weight is replaced
        assert cache._weight == sum(cache._weights.values()) <= 10_000
        cache.put("huge", marker, 3, 10_001)
        assert cache.get("huge")[0] is None and cache.get("again")[0] == 2


async def test_object_infos_and_headers_kept_are_bounded_in_characters(tmp_path: Path) -> None:
    """Objects with the largest metadata the row cache keeps, read once each: the decoded
    infos (``MetaDB.info_of``) and the remembered headers (``object_headers``) stay within
    their character budgets, not their entry counts alone (8,192 such would hold
    hundreds of MiB)."""
    fs = FilesystemBackend(tmp_path / "data", fsync=False)
    await fs.start()
    try:
        await fs.create_bucket("bkt")
        meta = ObjectMeta(user_metadata={"m": "v" * 1900}, cache_control="c" * 3000)
        count = ROW_CACHE_CHARS // 5000 + 50
        for n in range(count):
            await fs.put_object("bkt", f"k{n}", payload(b"x"), meta)
        for n in range(count):
            info = await fs.head_object("bkt", f"k{n}")
            assert object_headers(info)["Cache-Control"] == "c" * 3000
        assert 0 < fs.db._infos.weight <= ROW_CACHE_CHARS
        assert len(fs.db._infos.entries) < count
        assert 0 < headers_module._described.weight <= OBJECT_HEADERS_CHARS
    finally:
        await fs.close()


def test_the_key_lookup_cache_keeps_at_most_its_entries() -> None:
    cache: LookupCache[str, int] = LookupCache(60.0, max_entries=50)
    for n in range(5_000):
        cache.put(f"AKIA{n}", None, n)
    assert len(cache._entries) == 50
    assert cache.get("AKIA4999", None) == 4999 and cache.get("AKIA0", None) is None


def test_opened_data_keys_are_bounded() -> None:
    """Each SSE-S3 object has its own data key: reading many keeps at most the bound."""
    keys = KeySet(bytes(32))
    unwrap = unwrapper(keys, None)
    kek = keys.managed_kek(keys.current_id)
    headers = [
        Sealer(kek, mode=MODE_MANAGED, key_id=keys.current_id).header
        for _ in range(OPENED_KEYS + 500)
    ]
    for header in headers:
        unwrap(header)
    assert len(keys._opened) == OPENED_KEYS
    assert keys.opened(headers[-1]) is not None and keys.opened(headers[0]) is None


async def test_small_sse_s3_plaintexts_kept_are_bounded(tmp_path: Path) -> None:
    """Reading more small SSE-S3 objects than the plaintext cache holds keeps at most its
    bytes, and every read still answers its own object's bytes."""
    fs = FilesystemBackend(tmp_path / "data", fsync=False, sse_key=bytes(range(32)))
    await fs.start()
    try:
        await fs.create_bucket("bkt")
        sse = Encryption(algorithm="AES256")
        count = INLINE_CACHE_BYTES // 60_000 + 20
        for n in range(count):
            body = n.to_bytes(4, "big") * 15_000
            await fs.put_object("bkt", f"k{n}", payload(body), ObjectMeta(), encryption=sse)
        for n in range(count):
            assert (
                await read_all(await fs.get_object("bkt", f"k{n}")) == n.to_bytes(4, "big") * 15_000
            )
        assert 0 < len(fs._opened) < count and fs._opened.size <= INLINE_CACHE_BYTES
    finally:
        await fs.close()


def test_cors_answers_are_bounded() -> None:
    """The origin is the client's to choose: a new one per request keeps at most the bound."""
    document = rules_to_json(
        parse_cors_xml(
            b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
            b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
        )
    )
    config = replace(Config(), cors=CorsConfig(default_origins=("*",)))
    for n in range(ACTUAL_MEMO + 500):
        actual_response_headers(document, config, f"https://{n}.example", "GET")
        actual_response_headers(None, config, f"https://{n}.example", "GET")
    assert _for_document.cache_info().currsize == ACTUAL_MEMO
    assert _for_default.cache_info().currsize == ACTUAL_MEMO


def test_parsed_bucket_documents_kept_are_bounded_in_bytes() -> None:
    """A bucket's stored lifecycle configuration (up to 256 KiB) and CORS rules (64 KiB)
    are parsed once per distinct text and kept: counted in entries alone, 256 distinct
    large lifecycle configurations held 135 MiB in a worker, 1,024 CORS documents more."""
    rules = "".join(
        f"<Rule><ID>r{n:03d}{'i' * 200}</ID><Filter><Prefix>{n:03d}{'p' * 1000}</Prefix>"
        "</Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        for n in range(190)
    )
    lifecycle = lifecycle_document(
        parse_lifecycle(f"<LifecycleConfiguration>{rules}</LifecycleConfiguration>".encode())
    ).decode()
    cors_rules = "".join(
        f"<CORSRule><AllowedOrigin>https://{n:03d}{'o' * 200}.example</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod></CORSRule>"
        for n in range(100)
    )
    cors = rules_to_json(
        parse_cors_xml(f"<CORSConfiguration>{cors_rules}</CORSConfiguration>".encode())
    )
    assert len(lifecycle) > 200 * 1024 and len(cors) > 20 * 1024
    config = Config()
    tracemalloc.start()
    try:
        for n in range(128):
            padding = " " * n  # another stored text, the same rules
            assert len(cached_lifecycle(lifecycle + padding).rules) == 190
            assert len(rules_from_json(cors + padding)) == 100
            actual_response_headers(cors + padding, config, "https://x.example", "GET")
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 16 * 1024 * 1024, kept


def test_parsed_bucket_policies_kept_are_bounded_in_bytes() -> None:
    """A bucket policy (up to 20 KiB) is parsed once per distinct text and kept: 512 of
    them, at 800 KiB each once parsed, held 400 MiB in a worker; rewriting one bucket's
    policy is enough to make them distinct."""
    statements = [
        {
            "Sid": f"s{n}",
            "Effect": "Allow",
            "Principal": {"AWS": ["*"]},
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::bkt/{n:03d}" + "r" * 90 + "/*"],
        }
        for n in range(90)
    ]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    assert len(text) > 18 * 1024
    tracemalloc.start()
    try:
        for n in range(128):
            policy = facts_policy("bkt", text + " " * n)
            assert len(policy.statements) == 90
        del policy
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 16 * 1024 * 1024, kept


def test_remembered_policy_results_are_bounded() -> None:
    """Every caller address is a new remembered result of the statements addressed to
    the caller: however many a client sends, at most the bound is kept."""
    doc = policy(stmt(), stmt("Deny", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    for i in range(3 * _OUTCOMES):
        address = f"10.0.{i // 250}.{i % 250}" if i % 2 else f"192.0.{i // 250}.{i % 250}"
        result = evaluate(
            doc,
            account(OTHER),
            "s3:GetObject",
            resource_arn("b", "k"),
            ctx(source_ip=address),
        )
        assert result.explicit_deny is bool(i % 2)
    (addressed,) = doc.candidates.values()
    assert addressed.outcomes is not None and 0 < len(addressed.outcomes) <= _OUTCOMES


def test_the_shared_memo_rule_keeps_at_most_its_limit_and_answers_what_it_stored() -> None:
    """``sigv4.memo.remember``, the rule of the request path's memos (SigV4's parsed
    values, policy outcomes, upstream header names, accounts, rate-limit overrides): a
    peer sending a new value each time never makes one hold more than its limit."""
    memo: dict[str, int] = {}
    for n in range(10_000):
        assert remember(memo, f"value{n}", n, 64) == n
        assert len(memo) <= 64
        assert memo[f"value{n}"] == n
    assert len(memo) == (10_000 - 1) % 64 + 1  # emptied when full, then filled again


def test_signature_memos_are_bounded_in_bytes() -> None:
    """A presigned URL's query may hold 64 KiB of ``X-Amz-SignedHeaders`` and
    ``X-Amz-Credential``, read (and, for the signed names, lower-cased for the
    every-``x-amz-*``-signed check) before any signature is: remembered by count alone,
    256 such values held ~250 MB in a worker."""
    error = AuthorizationQueryParametersError
    names = ";".join(f"x-amz-meta-{i:04d}" for i in range(3_000))
    sent = (("x-amz-unsigned", "v"),)
    tracemalloc.start()
    try:
        for n in range(64):
            signed = _parse_signed_headers(f"host{n};{names}", error)
            assert unsigned_amz_headers(sent, signed) == ["x-amz-unsigned"]
            credential = f"AKIA{n:03d}{'A' * 40_000}/20240524/us-east-1/s3/aws4_request"
            assert _parse_credential(credential, error)[1] == "20240524"
        del signed
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 4 * 1024 * 1024, kept
