"""First-start work done once, before any worker serves: the admin key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.config import Config
from gateway.identity.store import IdentityStore
from gateway.scopes import ADMIN


@dataclass(frozen=True)
class AdminCredentials:
    """How the operator gets admin access; ``secret`` is set only when just generated."""

    source: str
    access_key_id: str | None = None
    secret: str | None = None


async def ensure_admin(config: Config) -> AdminCredentials:
    """Sync the root key from the environment, or generate one if no admin key exists."""
    store = await IdentityStore.from_config(config)
    try:
        auth = config.auth
        if auth.root_access_key and auth.root_secret_key:
            key = await store.ensure_root_key(auth.root_access_key, auth.root_secret_key)
            return AdminCredentials(
                "NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY from the environment", key.id
            )
        if await store.has_active_admin_key(datetime.now(UTC)):
            return AdminCredentials(
                "an existing admin key (printed when it was generated; "
                "`nfyio-gateway keys create --name admin --scope admin` makes another)"
            )
        key, secret = await store.create_key("admin (generated at first start)", [ADMIN])
        return AdminCredentials("generated now and shown once", key.id, secret)
    finally:
        await store.close()
