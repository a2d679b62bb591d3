"""The scope vocabulary (seed table) and the rules that relate scopes to each other."""

from __future__ import annotations

from collections.abc import Iterable

READ_OBJECTS = "read:objects"
WRITE_OBJECTS = "write:objects"
DELETE_OBJECTS = "delete:objects"
BYPASS_GOVERNANCE = "bypass:governance"
"""Lets ``x-amz-bypass-governance-retention: true`` take effect: delete or shorten a
version held by Object Lock in GOVERNANCE mode (S3's ``s3:BypassGovernanceRetention``).
Not implied by ``write:objects`` or ``delete:objects``; ``admin`` has it."""
READ_BUCKETS = "read:buckets"
WRITE_BUCKETS = "write:buckets"
READ_AGENTS = "read:agents"
WRITE_AGENTS = "write:agents"
READ_NETWORKING = "read:networking"
WRITE_NETWORKING = "write:networking"
ADMIN = "admin"

ALL_SCOPES: frozenset[str] = frozenset(
    {
        READ_OBJECTS,
        WRITE_OBJECTS,
        DELETE_OBJECTS,
        BYPASS_GOVERNANCE,
        READ_BUCKETS,
        WRITE_BUCKETS,
        READ_AGENTS,
        WRITE_AGENTS,
        READ_NETWORKING,
        WRITE_NETWORKING,
        ADMIN,
    }
)


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether holding ``held`` grants ``needed``. ``admin`` grants everything;
    ``write:objects`` includes the narrower ``delete:objects``."""
    held_set = set(held)
    if ADMIN in held_set or needed in held_set:
        return True
    return needed == DELETE_OBJECTS and WRITE_OBJECTS in held_set


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in ALL_SCOPES]
