"""What the OAuth handlers share: the store, the settings and the verifier."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.identity.store import IdentityStore
from gateway.oauth.access_tokens import AccessTokenVerifier
from gateway.oauth.settings import OAuthSettings

__all__ = ["OAUTH", "OAuthContext"]


@dataclass(frozen=True, slots=True)
class OAuthContext:
    store: IdentityStore
    settings: OAuthSettings
    verifier: AccessTokenVerifier


OAUTH = web.AppKey("oauth", OAuthContext)
