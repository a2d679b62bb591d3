from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from gateway.identity.crypto import (
    DecryptionError,
    Keyring,
    MasterKeyError,
    SecretBox,
    derive_key,
    hash_password,
    load_or_create_master_key,
    password_needs_rehash,
    verify_password,
)

# --- master key ---------------------------------------------------------------------------


def test_master_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = load_or_create_master_key(data_dir, None)
    path = data_dir / "master.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_master_key(data_dir, None) == key
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temp file left


def test_master_key_file_created_0600_despite_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_master_key(tmp_path, None)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_master_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    load_or_create_master_key(tmp_path, None)
    (tmp_path / "master.key").chmod(mode)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_or_create_master_key(tmp_path, None)


def test_concurrent_first_runs_agree_on_one_key(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    results: list[bytes] = []

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_master_key(tmp_path, None))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_master_key_from_env_wins_and_creates_no_file(tmp_path: Path) -> None:
    raw = os.urandom(32)
    assert load_or_create_master_key(tmp_path, base64.b64encode(raw).decode()) == raw
    assert load_or_create_master_key(tmp_path, base64.urlsafe_b64encode(raw).decode()) == raw
    assert not (tmp_path / "master.key").exists()


def test_configured_key_file_is_read_and_never_created(tmp_path: Path) -> None:
    """NFYIO_MASTER_KEY_FILE: the same key on every host, e.g. a mounted secret."""
    raw = os.urandom(32)
    key_file = tmp_path / "secrets" / "master"
    data_dir = tmp_path / "data"
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_or_create_master_key(data_dir, None, key_file=key_file)
    assert not key_file.exists() and not (data_dir / "master.key").exists()
    key_file.parent.mkdir()
    key_file.write_text(base64.b64encode(raw).decode() + "\n")
    key_file.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_or_create_master_key(data_dir, None, key_file=key_file)
    key_file.chmod(0o600)
    assert load_or_create_master_key(data_dir, None, key_file=key_file) == raw
    assert not (data_dir / "master.key").exists()


@pytest.mark.parametrize(
    "value", ["", "not base64!", base64.b64encode(b"short").decode(), "A" * 64]
)
def test_bad_env_master_key_is_a_clear_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(MasterKeyError, match="NFYIO_MASTER_KEY"):
        load_or_create_master_key(tmp_path, value)


# --- derived keys and SecretBox -------------------------------------------------------------


def test_subkeys_differ_per_purpose_and_from_master() -> None:
    master = os.urandom(32)
    a, b = derive_key(master, "secretbox"), derive_key(master, "lookup-hash")
    assert len({a, b, master}) == 3
    assert derive_key(master, "secretbox") == a


def test_secretbox_round_trip_with_random_nonce() -> None:
    box = SecretBox(os.urandom(32))
    one, two = box.seal("sk_hello", aad=b"ak_1"), box.seal("sk_hello", aad=b"ak_1")
    assert one != two
    assert box.open(one, aad=b"ak_1") == box.open(two, aad=b"ak_1") == "sk_hello"
    assert b"sk_hello" not in one


def test_secretbox_rejects_other_aad_tampering_and_other_key() -> None:
    key = os.urandom(32)
    box = SecretBox(key)
    blob = box.seal("sk_hello", aad=b"ak_1")
    with pytest.raises(DecryptionError):
        box.open(blob, aad=b"ak_2")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        box.open(tampered, aad=b"ak_1")
    with pytest.raises(DecryptionError):
        SecretBox(os.urandom(32)).open(blob, aad=b"ak_1")
    with pytest.raises(DecryptionError):
        box.open(b"\x01short", aad=b"ak_1")


def test_reprs_hide_key_material() -> None:
    master = os.urandom(32)
    ring = Keyring(master)
    for obj in (ring, ring.box, ring.lookup_hash):
        text = repr(obj) + str(obj)
        assert master.hex() not in text
        assert base64.b64encode(master).decode() not in text
        assert derive_key(master, "secretbox").hex() not in text


def test_keyring_lookup_hash_is_keyed() -> None:
    one, two = Keyring(os.urandom(32)), Keyring(os.urandom(32))
    assert one.lookup_hash("sk_x") == one.lookup_hash("sk_x")
    assert one.lookup_hash("sk_x") != two.lookup_hash("sk_x")
    with pytest.raises(ValueError, match="reserved"):
        one.subkey("secretbox")
    assert len(one.subkey("jwt-wrap")) == 32


# --- scrypt -------------------------------------------------------------------------------------


def test_password_hash_verifies_and_rejects_wrong_password() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("$scrypt$ln=14,r=8,p=1$")
    assert "correct horse" not in encoded
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded)
    assert not verify_password("", encoded)
    assert hash_password("correct horse") != encoded  # salted
    assert not password_needs_rehash(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain",
        "$scrypt$ln=14,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$bcrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=14,r=8,p=1$!!!$AAAA",
    ],
)
def test_malformed_or_hostile_password_hash_never_matches(encoded: str) -> None:
    assert not verify_password("anything", encoded)
    assert password_needs_rehash(encoded)


def test_older_parameters_still_verify_but_need_rehash() -> None:
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=2**10, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    encoded = f"$scrypt$ln=10,r=8,p=1${b64(salt).decode().rstrip('=')}${b64(digest).decode()}"
    assert verify_password("pw", encoded)
    assert password_needs_rehash(encoded)
