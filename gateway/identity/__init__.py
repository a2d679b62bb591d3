"""The identity store: access keys now; users, OAuth clients and refresh tokens next."""

from gateway.identity.crypto import (
    DecryptionError,
    Keyring,
    MasterKeyError,
    SecretBox,
    hash_password,
    load_or_create_master_key,
    verify_password,
)
from gateway.identity.models import AccessKey
from gateway.identity.schema import SchemaError
from gateway.identity.store import DuplicateKeyError, IdentityStore

__all__ = [
    "AccessKey",
    "DecryptionError",
    "DuplicateKeyError",
    "IdentityStore",
    "Keyring",
    "MasterKeyError",
    "SchemaError",
    "SecretBox",
    "hash_password",
    "load_or_create_master_key",
    "verify_password",
]
