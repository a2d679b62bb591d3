"""Secrets at rest: the master key, the keys derived from it, and slow password hashes.

One 32-byte master key (``NFYIO_MASTER_KEY``, base64, or ``<data_dir>/master.key``) is
never used directly. :class:`Keyring` derives a separate subkey per purpose with
HKDF-SHA256, so encrypting secrets and computing lookup hashes never share key material,
and new purposes (signing-key wrapping, CSRF tokens, ...) can be added without touching
the existing ones.

- :class:`SecretBox`: AES-256-GCM for secrets the gateway must read back (SigV4 needs the
  plaintext access-key secret). The associated data names the record, so a ciphertext
  copied into another row does not decrypt.
- :class:`LookupHasher`: HMAC-SHA256 of a bearer credential, stored in an indexed column
  so ``Authorization: Bearer <secret>`` is one indexed read. Without the master key the
  hash is useless for offline guessing.
- :func:`hash_password` / :func:`verify_password`: scrypt for secrets the gateway only
  checks (passwords, OAuth client secrets). About 50 ms of CPU each: call them through
  ``asyncio.to_thread`` from request handlers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MASTER_KEY_ENV",
    "MASTER_KEY_FILE",
    "MASTER_KEY_SIZE",
    "PENDING_MASTER_KEY_FILE",
    "PREVIOUS_KEYS_DIR",
    "ROTATION_MARKER",
    "DecryptionError",
    "Keyring",
    "LookupHasher",
    "MasterKeyError",
    "SecretBox",
    "create_key_file",
    "create_private_file",
    "derive_key",
    "fsync_dir",
    "hash_password",
    "load_or_create_master_key",
    "load_previous_master_keys",
    "password_needs_rehash",
    "previous_master_key_files",
    "read_key_file",
    "verify_password",
]

MASTER_KEY_ENV = "NFYIO_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
MASTER_KEY_SIZE = 32
PENDING_MASTER_KEY_FILE = "master.key.next"
"""The new key of a rotation of ``master.key`` that has not finished."""
ROTATION_MARKER = "rotation.pending"
"""Present (holding the new key's fingerprint) while ``rotate-master-key`` runs or after
it stopped half-way: nothing may open the data directory until a run finishes."""
PREVIOUS_KEYS_DIR = "previous-master-keys"


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, unsafe on disk, or not the one the data
    was written with. The gateway must not start."""


class DecryptionError(Exception):
    """A sealed blob did not authenticate: wrong master key, wrong record, or tampering."""


# --- master key -------------------------------------------------------------------------


def load_or_create_master_key(
    data_dir: Path, env_value: str | None, *, key_file: Path | None = None
) -> bytes:
    """Return the 32-byte master key.

    ``env_value`` (the value of ``NFYIO_MASTER_KEY``, standard or URL-safe base64) wins
    when given; no key file is then read or created. Next comes ``key_file``
    (``NFYIO_MASTER_KEY_FILE``): read, never created. Otherwise the key is read from
    ``<data_dir>/master.key`` (base64 text), which is created on first run with mode
    0600. Creation is atomic and never overwrites: several workers starting at once all
    end up with the key of whichever wrote first. A key file that the group or others
    may read or write is refused, as ssh refuses such a private key.
    """
    if env_value is not None:
        return _decode_master_key(env_value, source=f"${MASTER_KEY_ENV}")
    if key_file is not None:
        if not key_file.exists():
            raise MasterKeyError(f"master key file {key_file} does not exist")
        return read_key_file(key_file)
    path = data_dir / MASTER_KEY_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_key_file(path, secrets.token_bytes(MASTER_KEY_SIZE))
    return read_key_file(path)


def _decode_master_key(text: str, *, source: str) -> bytes:
    stripped = text.strip()
    try:
        if "-" in stripped or "_" in stripped:
            raw = base64.urlsafe_b64decode(stripped)
        else:
            raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(
            f"{source} is not valid base64; generate one with: "
            "python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'"
        ) from None
    if len(raw) != MASTER_KEY_SIZE:
        raise MasterKeyError(
            f"{source} must decode to {MASTER_KEY_SIZE} bytes, got {len(raw)} bytes"
        )
    return raw


def create_key_file(path: Path, key: bytes) -> bool:
    """Write ``key`` (base64 text) to a new 0600 file at ``path`` (``create_private_file``)."""
    return create_private_file(path, base64.b64encode(key) + b"\n")


def create_private_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new 0600 file at ``path``, durably and atomically. Never
    overwrites: returns False, leaving the file as it is, when ``path`` exists."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() publishes the complete file atomically and fails if another process
        # got there first; rename() would silently replace a key already in use.
        os.link(tmp, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink()
    fsync_dir(path.parent)
    return created


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a new or renamed key file) durable."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def previous_master_key_files(data_dir: Path, files: Sequence[str]) -> list[Path]:
    """Where the master keys rotated away from are (docs/security.md, "Rotating the
    master key"): each of ``files`` (``auth.previous_master_key_files``; a missing one is
    an error) and every ``*.key`` in ``<data_dir>/previous-master-keys/``, where
    ``rotate-master-key`` keeps a data-directory key that SSE-C objects still need."""
    paths = [Path(name) for name in files]
    for path in paths:
        if not path.exists():
            raise MasterKeyError(f"previous master key file {path} does not exist")
    directory = data_dir / PREVIOUS_KEYS_DIR
    if directory.is_dir():
        paths.extend(sorted(directory.glob("*.key")))
    return paths


def load_previous_master_keys(data_dir: Path, files: Sequence[str]) -> list[bytes]:
    """The keys of :func:`previous_master_key_files`: read for object data written under
    them, never for the state store or for new data."""
    return [read_key_file(path) for path in previous_master_key_files(data_dir, files)]


def read_key_file(path: Path) -> bytes:
    """The master key in ``path``, which group and others must not be able to touch."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise MasterKeyError(f"{path} is not a regular file")
    if mode & 0o077:
        raise MasterKeyError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"refusing to start. Fix it with: chmod 600 {path}"
        )
    return _decode_master_key(path.read_text(encoding="ascii"), source=str(path))


# --- derived keys -----------------------------------------------------------------------


def derive_key(master_key: bytes, purpose: str, *, length: int = 32) -> bytes:
    """HKDF-SHA256 subkey of ``master_key`` for one named purpose."""
    if len(master_key) != MASTER_KEY_SIZE:
        raise ValueError(f"master key must be {MASTER_KEY_SIZE} bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=b"nfyio-gateway/v1/" + purpose.encode("ascii"),
    )
    return hkdf.derive(master_key)


class SecretBox:
    """AES-256-GCM with a random 96-bit nonce per message.

    Blob layout: ``version (1 byte) || nonce (12) || ciphertext || tag (16)``. The version
    byte leaves room for master-key rotation (a later version names another key).
    """

    _VERSION = b"\x01"
    _NONCE_SIZE = 12

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(self._NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), aad)
        return self._VERSION + nonce + sealed

    def open(self, blob: bytes, *, aad: bytes) -> str:
        if len(blob) < 1 + self._NONCE_SIZE + 16 or blob[:1] != self._VERSION:
            raise DecryptionError("sealed blob is malformed or of an unknown version")
        nonce = blob[1 : 1 + self._NONCE_SIZE]
        try:
            plaintext = self._aead.decrypt(nonce, blob[1 + self._NONCE_SIZE :], aad)
        except InvalidTag:
            raise DecryptionError(
                "sealed blob does not authenticate (wrong master key, wrong record, "
                "or tampered data)"
            ) from None
        return plaintext.decode("utf-8")

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"


class LookupHasher:
    """Keyed hash (HMAC-SHA256) of a bearer secret, for indexed lookups."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, secret: str) -> bytes:
        return hmac.digest(self._key, secret.encode("utf-8"), "sha256")

    def __repr__(self) -> str:
        return "LookupHasher(<key hidden>)"


class Keyring:
    """Every key derived from the master key, one per purpose.

    ``fingerprint`` identifies the master key without revealing it; the identity store
    records it so that starting with a different master key fails loudly instead of
    failing every SigV4 request.
    """

    __slots__ = ("_master", "box", "fingerprint", "lookup_hash")

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key
        self.box = SecretBox(derive_key(master_key, "secretbox"))
        self.lookup_hash = LookupHasher(derive_key(master_key, "lookup-hash"))
        self.fingerprint = derive_key(master_key, "fingerprint", length=16).hex()

    def subkey(self, purpose: str, *, length: int = 32) -> bytes:
        """A key for a purpose not covered above (e.g. wrapping JWT signing keys)."""
        if purpose in {"secretbox", "lookup-hash", "fingerprint"}:
            raise ValueError(f"subkey purpose {purpose!r} is reserved")
        return derive_key(self._master, purpose, length=length)

    def __repr__(self) -> str:
        return f"Keyring(fingerprint={self.fingerprint!r})"


# --- slow hashes (passwords, OAuth client secrets) ----------------------------------------

_SCRYPT_LOG2_N = 14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_SIZE = 16
_HASH_SIZE = 32
# Bounds on parameters read back from storage, so a crafted hash cannot exhaust memory.
_MAX_LOG2_N = 20
_MAX_R = 32
_MAX_P = 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, size: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=129 * r * n * p + (1 << 20),
        dklen=size,
    )


def hash_password(password: str) -> str:
    """scrypt hash in PHC string format: ``$scrypt$ln=14,r=8,p=1$<salt>$<hash>``."""
    salt = secrets.token_bytes(_SALT_SIZE)
    digest = _scrypt(password, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P, _HASH_SIZE)
    params = f"ln={_SCRYPT_LOG2_N},r={_SCRYPT_R},p={_SCRYPT_P}"
    return f"$scrypt${params}${_b64(salt)}${_b64(digest)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "scrypt":
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[2].split(","))
        log2_n, r, p = int(params["ln"]), int(params["r"]), int(params["p"])
        salt, digest = _unb64(parts[3]), _unb64(parts[4])
    except (KeyError, ValueError, binascii.Error):
        return None
    if not (1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        return None
    if len(salt) < 8 or len(digest) < 16:
        return None
    return log2_n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; a malformed hash never matches."""
    parsed = _parse(encoded)
    if parsed is None:
        return False
    log2_n, r, p, salt, expected = parsed
    actual = _scrypt(password, salt, log2_n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def password_needs_rehash(encoded: str) -> bool:
    """True when ``encoded`` was made with other parameters than the current ones."""
    parsed = _parse(encoded)
    return parsed is None or parsed[:3] != (_SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
