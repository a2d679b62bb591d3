"""Audit events of the command line (``nfyio-gateway keys|users|clients|accounts``).

The operator's changes go straight to the state store, so they are written at once, one
event per change, with actor ``{"type": "operator", "id": <the OS user>}`` and no client
address (the command ran on the host).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

from gateway.identity.audit import AuditEvent, new_event_id
from gateway.identity.store import IdentityStore

__all__ = ["operator_name", "record_operator"]


def operator_name() -> str:
    try:
        return getpass.getuser()[:64] or "operator"
    except (KeyError, OSError):  # no passwd entry, no LOGNAME
        return "operator"


async def record_operator(
    store: IdentityStore,
    action: str,
    target: tuple[str, str],
    *,
    account: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    now = datetime.now(UTC)
    await store.audit.append(
        [
            AuditEvent(
                id=new_event_id(now),
                time=now,
                action=action,
                outcome="success",
                actor_type="operator",
                actor_id=operator_name(),
                target_type=target[0],
                target_id=target[1],
                account_id=account,
                user_agent="nfyio-gateway cli",
                details=dict(details or {}),
            )
        ]
    )
