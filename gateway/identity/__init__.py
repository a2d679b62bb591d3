"""The gateway's state store (access keys, users, OAuth clients, sessions, signing keys,
throttle) on SQLite or PostgreSQL. See README.md in this directory."""

from gateway.identity.crypto import (
    DecryptionError,
    Keyring,
    MasterKeyError,
    SecretBox,
    hash_password,
    load_or_create_master_key,
    verify_password,
)
from gateway.identity.db import Database, IntegrityError, PoolOptions
from gateway.identity.models import AccessKey
from gateway.identity.schema import SchemaError
from gateway.identity.store import DuplicateKeyError, IdentityStore

__all__ = [
    "AccessKey",
    "Database",
    "DecryptionError",
    "DuplicateKeyError",
    "IdentityStore",
    "IntegrityError",
    "Keyring",
    "MasterKeyError",
    "PoolOptions",
    "SchemaError",
    "SecretBox",
    "hash_password",
    "load_or_create_master_key",
    "verify_password",
]
