"""Access-token verification: every refused variant is built here with pyjwt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth.errors import AuthError
from gateway.identity.store import IdentityStore
from gateway.oauth.access_tokens import AccessTokenVerifier, InvalidToken, issue_access_token
from gateway.oauth.settings import OAuthSettings


class Fixture:
    def __init__(self, store: IdentityStore, settings: OAuthSettings) -> None:
        self.store = store
        self.settings = settings
        self.verifier = AccessTokenVerifier(store, settings)
        self.active: tuple[str, rsa.RSAPrivateKey] | None = None

    async def load_signing_key(self) -> None:
        """The key ``sign`` uses: the store's active one (again after a rotation)."""
        self.active = await self.store.signing_keys.active()

    async def login(self, scopes: list[str] | None = None) -> tuple[str, str, str]:
        user = await self.store.users.create(
            "alice", "password-1", ["read:buckets", "read:objects"]
        )
        client, _ = await self.store.clients.create("app", scopes=["read:buckets", "read:objects"])
        session, _ = await self.store.sessions.start(
            user.id,
            client.id,
            scopes or ["read:buckets"],
            expires_at=datetime.now(UTC) + timedelta(days=1),
            with_refresh=True,
        )
        return user.id, client.id, session.id

    def claims(self, user_id: str, client_id: str, session_id: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.settings.issuer,
            "sub": user_id,
            "aud": self.settings.audience,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": "jti-1",
            "client_id": client_id,
            "scope": "read:buckets",
            "sid": session_id,
        }

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        assert self.active is not None
        kid, key = self.active
        headers = {"kid": kid, "typ": "at+jwt", **header}
        algorithm = headers.pop("alg", "RS256")
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


@pytest.fixture
async def fx(store: IdentityStore, settings: OAuthSettings) -> Fixture:
    fixture = Fixture(store, settings)
    await fixture.load_signing_key()
    return fixture


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_issued_token_verifies_to_a_user_principal(fx: Fixture) -> None:
    user_id, client_id, session_id = await fx.login()
    token, lifetime = await issue_access_token(
        fx.store,
        fx.settings,
        subject=user_id,
        client_id=client_id,
        scopes=frozenset({"read:buckets"}),
        session_id=session_id,
        now=datetime.now(UTC),
    )
    assert lifetime == 3600
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    principal = await fx.verifier(token)
    assert principal.kind == "user" and principal.subject == user_id
    assert principal.client_id == client_id and principal.scopes == {"read:buckets"}


async def test_sign_helper_makes_a_valid_token(fx: Fixture) -> None:
    ids = await fx.login()
    assert (await fx.verifier(fx.sign(fx.claims(*ids)))).subject == ids[0]


def _refusals() -> list[tuple[str, Any]]:
    def none_alg(fx: Fixture, c: dict[str, Any]) -> str:
        kid = fx.active[0]  # type: ignore[index]
        return jwt.encode(c, "", algorithm="none", headers={"kid": kid, "typ": "at+jwt"})

    def hs256_public_key(fx: Fixture, c: dict[str, Any]) -> str:
        kid, key = fx.active  # type: ignore[misc]
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        head = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
        body = _b64(json.dumps(c).encode())
        sig = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(sig)}"

    def foreign_key(fx: Fixture, c: dict[str, Any]) -> str:
        kid = fx.active[0]  # type: ignore[index]
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(c, other, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})

    def tampered(fx: Fixture, c: dict[str, Any]) -> str:
        head, _, sig = fx.sign(c).split(".")
        body = _b64(json.dumps({**c, "scope": "admin"}).encode())
        return f"{head}.{body}.{sig}"

    def unknown_kid(fx: Fixture, c: dict[str, Any]) -> str:
        return fx.sign(c, kid="not-our-kid")

    def no_kid(fx: Fixture, c: dict[str, Any]) -> str:
        _kid, key = fx.active  # type: ignore[misc]
        return jwt.encode(c, key, algorithm="RS256", headers={"typ": "at+jwt"})

    def claim(**changes: Any) -> Any:
        def build(fx: Fixture, c: dict[str, Any]) -> str:
            # times are computed when the test runs, not at collection (a long run
            # would otherwise move "the future" into the past)
            merged = {**c, **{k: v() if callable(v) else v for k, v in changes.items()}}
            return fx.sign({k: v for k, v in merged.items() if v is not None})

        return build

    def now() -> int:
        return int(time.time())

    return [
        ("alg=none", none_alg),
        ("HS256 signed with the public key", hs256_public_key),
        ("RS512 with our key", lambda fx, c: fx.sign(c, alg="RS512")),
        ("PS256 with our key", lambda fx, c: fx.sign(c, alg="PS256")),
        ("foreign key with our kid", foreign_key),
        ("tampered payload", tampered),
        ("unknown kid", unknown_kid),
        ("no kid", no_kid),
        ("typ JWT", lambda fx, c: fx.sign(c, typ="JWT")),
        ("wrong iss", claim(iss="https://evil.example")),
        ("wrong aud", claim(aud="another-service")),
        (
            "expired",
            claim(exp=lambda: now() - 60, iat=lambda: now() - 700, nbf=lambda: now() - 700),
        ),
        ("nbf in the future", claim(nbf=lambda: now() + 120)),
        ("no exp", claim(exp=None)),
        ("no jti", claim(jti=None)),
        ("no sub", claim(sub=None)),
        ("scope not a string", claim(scope=["admin"])),
        ("no sid and sub is not the client", claim(sid=None)),
    ]


@pytest.mark.parametrize(("name", "build"), _refusals(), ids=[n for n, _ in _refusals()])
async def test_refused_variants(fx: Fixture, name: str, build: Any) -> None:
    ids = await fx.login()
    token = build(fx, fx.claims(*ids))
    with pytest.raises(AuthError) as info:
        await fx.verifier(token)
    assert info.value.code == "InvalidToken"


async def test_leeway_accepts_slightly_expired(fx: Fixture) -> None:
    # A leeway of a minute for a token two seconds past: the check is still within it
    # however slowly the store answers (with 5 s, 2 to 3 s were left for that).
    verifier = AccessTokenVerifier(fx.store, replace(fx.settings, leeway=60))
    ids = await fx.login()
    now = int(time.time())
    token = fx.sign({**fx.claims(*ids), "exp": now - 2})
    assert (await verifier(token)).subject == ids[0]


async def test_live_state_revocations(fx: Fixture) -> None:
    user_id, client_id, session_id = await fx.login()
    token = fx.sign(fx.claims(user_id, client_id, session_id))
    await fx.verifier(token)
    await fx.store.sessions.revoke_access_token("jti-1", datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(AuthError):
        await fx.verifier(token)
    other = fx.sign({**fx.claims(user_id, client_id, session_id), "jti": "jti-2"})
    await fx.verifier(other)
    await fx.store.users.update(user_id, disabled=True)
    with pytest.raises(AuthError):
        await fx.verifier(other)


async def test_revoked_session_stops_its_tokens(fx: Fixture) -> None:
    ids = await fx.login()
    token = fx.sign(fx.claims(*ids))
    await fx.store.sessions.revoke(ids[2])
    with pytest.raises(InvalidToken):
        await fx.verifier.principal(token)


async def test_deleted_user_and_client(fx: Fixture) -> None:
    user_id, client_id, session_id = await fx.login()
    token = fx.sign(fx.claims(user_id, client_id, session_id))
    await fx.store.clients.delete(client_id)
    with pytest.raises(InvalidToken):
        await fx.verifier.principal(token)


async def test_scopes_follow_the_users_current_scopes(fx: Fixture) -> None:
    user_id, client_id, session_id = await fx.login(["read:buckets", "read:objects"])
    token = fx.sign(
        {**fx.claims(user_id, client_id, session_id), "scope": "read:buckets read:objects"}
    )
    assert (await fx.verifier(token)).scopes == {"read:buckets", "read:objects"}
    await fx.store.users.update(user_id, scopes=["read:objects"])
    assert (await fx.verifier(token)).scopes == {"read:objects"}


async def test_client_credentials_token(fx: Fixture) -> None:
    client, _ = await fx.store.clients.create(
        "svc", grant_types=["client_credentials"], scopes=["read:objects"]
    )
    token, _ = await issue_access_token(
        fx.store,
        fx.settings,
        subject=client.id,
        client_id=client.id,
        scopes=frozenset({"read:objects"}),
        session_id=None,
        now=datetime.now(UTC),
    )
    principal = await fx.verifier(token)
    assert principal.kind == "client" and principal.subject == client.id
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "preferred_username" not in claims and "roles" not in claims  # not a user


async def test_user_tokens_name_the_user_and_its_roles(fx: Fixture) -> None:
    user_id, client_id, session_id = await fx.login()
    token, _ = await issue_access_token(
        fx.store,
        fx.settings,
        subject=user_id,
        client_id=client_id,
        scopes=frozenset({"read:buckets"}),
        session_id=session_id,
        now=datetime.now(UTC),
        username="alice",
        roles=("auditor", "ops:oncall"),
    )
    claims = (await fx.verifier.decode(token)).raw
    assert claims["preferred_username"] == "alice"
    assert claims["roles"] == ["auditor", "ops:oncall"]
    assert (await fx.verifier(token)).subject == user_id  # the claims change nothing else


async def test_old_key_verifies_during_overlap_and_not_after_removal(fx: Fixture) -> None:
    ids = await fx.login()
    old_token = fx.sign(fx.claims(*ids))
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    await fx.store.signing_keys.rotate(overlap=fx.settings.key_overlap)
    await fx.load_signing_key()
    new_token = fx.sign({**fx.claims(*ids), "jti": "new"})
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    await fx.verifier(old_token)
    await fx.verifier(new_token)
    assert await fx.store.signing_keys.remove(old_kid)
    with pytest.raises(AuthError):
        await fx.verifier(old_token)
    await fx.verifier(new_token)
