"""The decision's facts built from a parsed request: who calls (``PrincipalFacts``) and
the condition values (``RequestContext``), read from the request object once."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from gateway.authz import ANONYMOUS, ConditionContext, PrincipalKind, RequestContext
from gateway.authz.condition_keys import FAMILIES, KEYS, lookup_key
from gateway.principal import ANONYMOUS as ANONYMOUS_PRINCIPAL
from gateway.principal import Principal
from gateway.s3.access_context import (
    GrantCell,
    LazyContext,
    principal_facts,
    request_context,
    source_ip,
)
from gateway.s3.request import S3Request, read_request
from tests.gateway.s3.conftest import make_config

NOW = datetime(2025, 6, 1, tzinfo=UTC)
KEY = Principal(kind="key", subject="ak_X", scopes=frozenset({"admin"}), account_id="acct_A")


def parse(tmp_path: Path, target: str, method: str = "GET", **headers: str) -> S3Request:
    config = make_config(tmp_path, NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS="true")
    request = make_mocked_request(method, target, headers={"Host": "gw", **headers})
    return read_request(request, config)


def test_source_ip_trusts_only_the_last_forwarded_hop() -> None:
    lines = ["203.0.113.9, 198.51.100.7"]
    assert source_ip("127.0.0.1", lines, trusted=True) == "198.51.100.7"
    assert source_ip("127.0.0.1", lines, trusted=False) == "127.0.0.1"
    assert source_ip("127.0.0.1", [" "], trusted=True) == "127.0.0.1"
    assert source_ip("127.0.0.1", [], trusted=True) == "127.0.0.1"
    # A proxy that appends a line of its own: the client's line comes first.
    assert source_ip("127.0.0.1", ["203.0.113.9", "198.51.100.7"], trusted=True) == ("198.51.100.7")


def test_listing_parameters_only_for_listing_actions(tmp_path: Path) -> None:
    req = parse(tmp_path, "/bkt?list-type=2&prefix=p%2F&delimiter=%2F&max-keys=5")
    listing = request_context(
        KEY,
        req,
        "s3:ListBucket",
        now=NOW,
        peer="10.0.0.1",
        trusted_forwarded=False,
        version_id=None,
    )
    assert (listing.prefix, listing.delimiter, listing.max_keys) == ("p/", "/", "5")
    assert listing.source_ip == "10.0.0.1" and listing.now == NOW
    other = request_context(
        KEY,
        req,
        "s3:GetBucketAcl",
        now=NOW,
        peer=None,
        trusted_forwarded=False,
        version_id=None,
    )
    assert (other.prefix, other.delimiter, other.max_keys) == (None, None, None)


def test_headers_tags_scheme_and_version(tmp_path: Path) -> None:
    req = parse(
        tmp_path,
        "/bkt/k",
        "PUT",  # a PutObject: the encryption header belongs to writes
        **{
            "x-amz-acl": "public-read",
            "x-amz-server-side-encryption": "AES256",
            "x-amz-tagging": "team=blue&empty=",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "X-Forwarded-Proto": "https",
        },
    )
    ctx = request_context(
        KEY,
        req,
        "s3:PutObject",
        now=NOW,
        peer="10.0.0.1",
        trusted_forwarded=True,
        version_id="v1",
    )
    assert ctx.acl == "public-read" and ctx.server_side_encryption == "AES256"
    assert ctx.request_object_tags == {"team": "blue", "empty": ""}
    assert ctx.content_sha256 == "UNSIGNED-PAYLOAD" and ctx.version_id == "v1"
    assert ctx.secure_transport is True  # X-Forwarded-Proto from a trusted proxy


def test_signature_version_and_auth_type(tmp_path: Path) -> None:
    cases = [
        (
            "/bkt/k?X-Amz-Signature=abc&X-Amz-Credential=x",
            {},
            KEY,
            ("AWS4-HMAC-SHA256", "REST-QUERY-STRING"),
        ),
        ("/bkt/k?AWSAccessKeyId=a&Signature=s&Expires=1", {}, KEY, ("AWS", "REST-QUERY-STRING")),
        (
            "/bkt/k",
            {"Authorization": "AWS4-HMAC-SHA256 Credential=x"},
            KEY,
            ("AWS4-HMAC-SHA256", "REST-HEADER"),
        ),
        ("/bkt/k", {"Authorization": "Bearer sk_x"}, KEY, (None, "REST-HEADER")),
        ("/bkt/k", {}, ANONYMOUS_PRINCIPAL, (None, None)),
    ]
    for target, headers, who, expected in cases:
        ctx = request_context(
            who,
            parse(tmp_path, target, **headers),
            "s3:GetObject",
            now=NOW,
            peer=None,
            trusted_forwarded=False,
            version_id=None,
        )
        assert (ctx.signature_version, ctx.auth_type) == expected, target


def test_principal_facts() -> None:
    assert principal_facts(ANONYMOUS_PRINCIPAL) is ANONYMOUS
    facts = principal_facts(KEY)
    assert facts.kind is PrincipalKind.ACCOUNT and facts.account_id == "acct_A"
    assert facts.canonical_id == KEY.canonical_id and len(KEY.canonical_id or "") == 64
    assert facts.bucket_limits is None and facts.scopes == {"admin"}
    user = Principal(
        kind="user", subject="usr_1", scopes=frozenset(), account_id="acct_A", user_name="ann"
    )
    facts = principal_facts(user)
    assert facts.kind is PrincipalKind.USER and (facts.user_name, facts.user_id) == ("ann", "usr_1")


def test_every_condition_key_reads_the_same_as_from_a_full_request_context(
    tmp_path: Path,
) -> None:
    """The dispatcher's context works each value out when read; every key, the tag
    families included, must read what a ``RequestContext`` holding all values gives."""
    fields = [f.name for f in dataclasses.fields(RequestContext)]
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x",
        "x-amz-acl": "private",
        "x-amz-server-side-encryption": "AES256",
        "x-amz-tagging": "team=blue",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
        "Referer": "https://www.example.com/",
        "User-Agent": "Mozilla/5.0",
    }
    listing = parse(tmp_path, "/bkt?list-type=2&prefix=p%2F&delimiter=%2F&max-keys=5", **headers)
    put = parse(tmp_path, "/bkt/k", "PUT", **headers)
    names = [*KEYS, *(f"{family}team" for family in FAMILIES), "s3:ExistingObjectTag/class"]
    facts = principal_facts(KEY)
    for req, action in ((listing, "s3:ListBucket"), (put, "s3:PutObject"), (put, "s3:GetObject")):
        lazy = request_context(
            KEY,
            req,
            action,
            now=NOW,
            peer="10.0.0.1",
            trusted_forwarded=True,
            version_id="v1",
            existing_object_tags={"class": "gold"},
        )
        full = RequestContext(**{name: getattr(lazy, name) for name in fields})
        for name in names:
            key = lookup_key(name)
            assert key is not None, name
            assert key.read(facts, lazy) == key.read(facts, full), (action, name)
        assert full.source_ip == "198.51.100.7" and full.auth_type == "REST-HEADER"
        assert (full.referer, full.user_agent) == ("https://www.example.com/", "Mozilla/5.0")
        assert (full.prefix == "p/") is (action == "s3:ListBucket")
        # a write's tags, ACL and encryption are its own keys, not a read's of the object
        writes = action == "s3:PutObject"
        assert (full.request_object_tags == {"team": "blue"}) is writes
        assert (full.acl, full.server_side_encryption) == (
            ("private", "AES256") if writes else (None, None)
        )


def test_a_request_context_needs_an_aware_clock(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        request_context(
            KEY,
            parse(tmp_path, "/bkt/k"),
            "s3:GetObject",
            now=datetime(2025, 6, 1),
            peer=None,
            trusted_forwarded=False,
            version_id=None,
        )


def _context(req: S3Request, action: str, etag: str | None = None) -> RequestContext:
    lazy = request_context(
        KEY, req, action, now=NOW, peer=None, trusted_forwarded=False, version_id=None, etag=etag
    )
    return RequestContext(now=NOW, if_match=lazy.if_match, if_none_match=lazy.if_none_match)


def test_conditional_request_keys(tmp_path: Path) -> None:
    """``s3:if-match`` / ``s3:if-none-match``: the headers of conditional writes
    (``s3:PutObject``) and DeleteObject (``s3:DeleteObject``), each DeleteObjects key's own
    ``<ETag>``; absent for every other action (a GET's If-Match is no such condition)."""
    put = parse(tmp_path, "/bkt/k", "PUT", **{"If-None-Match": "*"})
    assert _context(put, "s3:PutObject") == RequestContext(now=NOW, if_none_match="*")
    replace = parse(tmp_path, "/bkt/k", "PUT", **{"If-Match": '"e1"'})
    assert _context(replace, "s3:PutObject").if_match == '"e1"'
    assert _context(replace, "s3:PutObjectTagging") == RequestContext(now=NOW)
    delete = parse(tmp_path, "/bkt/k", "DELETE", **{"If-Match": "e2"})
    assert _context(delete, "s3:DeleteObject") == RequestContext(now=NOW, if_match="e2")
    assert _context(delete, "s3:GetObject") == RequestContext(now=NOW)
    get = parse(tmp_path, "/bkt/k", **{"If-Match": '"e3"'})
    assert _context(get, "s3:GetObject") == RequestContext(now=NOW)
    # DeleteObjects: a header of the request is no key's condition; its <ETag> is
    batch = parse(tmp_path, "/bkt?delete", "POST", **{"If-Match": "header"})
    assert _context(batch, "s3:DeleteObject") == RequestContext(now=NOW)
    assert _context(batch, "s3:DeleteObject", etag="e4").if_match == "e4"
    name = "s3:IF-Match"  # condition key names are matched in any case, as IAM does
    found = lookup_key(name)
    assert found is not None and found.name == "s3:if-match"
    assert found.read(principal_facts(KEY), _context(delete, "s3:DeleteObject")) == ("e2",)


def test_grant_headers_are_gathered_once_per_request(tmp_path: Path) -> None:
    """``s3:x-amz-grant-*``: a request's grant headers are gathered when one of its
    decisions first reads a grant key, then shared by its other keys and decisions
    (``GrantCell``); each read used to gather them anew. None for an action without the
    keys, which gathers nothing."""
    grants = {"x-amz-grant-read": 'id="a"', "x-amz-grant-write-acp": 'id="b"'}
    req = parse(tmp_path, "/bkt/k", "PUT", **{"x-amz-acl": "private", **grants})
    cell: GrantCell = []

    def context(action: str) -> ConditionContext:
        return request_context(
            KEY, req, action, now=NOW, peer=None, trusted_forwarded=False, version_id=None,
            grants=cell,
        )  # fmt: skip

    put, bypass, get = (
        context(a) for a in ("s3:PutObject", "s3:BypassGovernanceRetention", "s3:GetObject")
    )
    assert get.acl_grants is None and cell == []
    first = put.acl_grants
    assert first == grants
    assert put.acl_grants is first and bypass.acl_grants is first and cell == [first]
    facts = principal_facts(KEY)
    for name, expected in (("read", ('id="a"',)), ("write", None), ("write-acp", ('id="b"',))):
        key = lookup_key(f"s3:x-amz-grant-{name}")
        assert key is not None and key.read(facts, bypass) == expected, name
        assert key.read(facts, get) is None, name
    assert cell == [first]


def test_the_dispatchers_context_reads_the_connection_as_given_values(tmp_path: Path) -> None:
    """The dispatcher builds its ``LazyContext`` over the aiohttp request, whose peer
    address, headers (every line) and transport are read when a key asks; it must read
    what a context given those values up front (``request_context``, the dispatcher's
    former construction) reads, for every key, trusted proxy or not."""
    config = make_config(tmp_path, NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS="true")
    headers = CIMultiDict(
        [
            ("Host", "gw"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=x"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-For", "198.51.100.7"),
            ("Referer", "https://www.example.com/"),
            ("User-Agent", "Mozilla/5.0"),
            ("x-amz-acl", "private"),
            ("x-amz-grant-read", 'id="a"'),
            ("If-Match", '"e1"'),
        ]
    )
    names = [*KEYS, *(f"{family}team" for family in FAMILIES), "s3:ExistingObjectTag/class"]
    facts = principal_facts(KEY)
    for method, target in (("GET", "/bkt?list-type=2&prefix=p%2F"), ("PUT", "/bkt/k")):
        http = make_mocked_request(method, target, headers=headers).clone(remote="10.0.0.1")
        req = read_request(http, config)
        for trusted, action in itertools.product(
            (True, False), ("s3:ListBucket", "s3:PutObject", "s3:GetObject")
        ):
            lazy = LazyContext(
                KEY, req, http, NOW, trusted, [], action, "v1", {"class": "gold"}, None, "acct_A"
            )
            given = request_context(
                KEY,
                req,
                action,
                now=NOW,
                peer=http.remote,
                trusted_forwarded=trusted,
                version_id="v1",
                existing_object_tags={"class": "gold"},
                raw_headers=http.headers,
                transport=http.transport,
                resource_account="acct_A",
            )
            for name in names:
                key = lookup_key(name)
                assert key is not None, name
                assert key.read(facts, lazy) == key.read(facts, given), (trusted, action, name)
            assert lazy.source_ip == ("198.51.100.7" if trusted else "10.0.0.1")
