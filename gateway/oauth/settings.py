"""OAuth settings derived from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.config import Config
from gateway.identity.throttle import ThrottlePolicy

__all__ = ["OAuthSettings", "default_issuer"]

_LOCAL_HOSTS = {"127.0.0.1", "0.0.0.0", "::", "", "localhost"}  # noqa: S104 - not binding


def default_issuer(config: Config) -> str:
    """``http(s)://<host>:<api_port>`` of the API listener; loopback and wildcard
    addresses become ``localhost``. Every worker derives the same value."""
    server = config.server
    scheme = "https" if server.tls_cert else "http"
    host = "localhost" if server.host in _LOCAL_HOSTS else server.host
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{server.api_port}"


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: int
    leeway: int
    throttle: ThrottlePolicy
    refresh_idle_ttl: int = 0
    """Seconds a refresh token may go unused before it expires (0: no idle limit)."""
    max_sessions: int = 200
    """Sessions one user keeps; a login beyond it ends the user's oldest."""

    @classmethod
    def from_config(cls, config: Config) -> OAuthSettings:
        auth = config.auth
        return cls(
            issuer=(auth.issuer or default_issuer(config)).rstrip("/"),
            audience=auth.audience,
            access_ttl=auth.access_token_ttl,
            refresh_ttl=auth.refresh_token_ttl,
            leeway=auth.jwt_leeway,
            refresh_idle_ttl=auth.refresh_token_idle_ttl,
            max_sessions=auth.max_sessions_per_user,
            throttle=ThrottlePolicy(
                threshold=auth.throttle_failures,
                base_delay=auth.throttle_base_delay,
                max_delay=auth.throttle_max_delay,
            ),
        )

    @property
    def refresh_idle(self) -> timedelta | None:
        """How long a refresh token may go unused, or None (no idle limit)."""
        return timedelta(seconds=self.refresh_idle_ttl) if self.refresh_idle_ttl else None

    @property
    def key_overlap(self) -> timedelta:
        """How long a retired signing key stays published: the longest token lifetime."""
        return timedelta(seconds=self.access_ttl + self.leeway)
