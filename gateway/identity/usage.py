"""``last_used_at`` batching: requests note use in memory; one transaction writes the batch."""

from __future__ import annotations

from gateway.identity.db import Tx

__all__ = ["UsageBatch", "write_usage"]


class UsageBatch:
    """Latest use per key id (microseconds), pending a write. Event-loop thread only."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[str, int] = {}

    def add(self, key_id: str, when_us: int) -> None:
        if self._pending.get(key_id, -1) < when_us:
            self._pending[key_id] = when_us

    def take(self) -> dict[str, int]:
        batch, self._pending = self._pending, {}
        return batch

    def restore(self, batch: dict[str, int]) -> None:
        """Put back a batch whose write failed, keeping newer uses noted meanwhile."""
        for key_id, when_us in batch.items():
            self.add(key_id, when_us)

    def __len__(self) -> int:
        return len(self._pending)


async def write_usage(tx: Tx, batch: dict[str, int]) -> None:
    """Apply ``batch``; ``last_used_at`` only moves forward (several workers write it)."""
    await tx.executemany(
        "UPDATE access_keys SET last_used_at = ?"
        " WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        [(when_us, key_id, when_us) for key_id, when_us in sorted(batch.items())],
    )
