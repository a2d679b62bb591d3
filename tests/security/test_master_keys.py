"""Master keys at rest and across a rotation: a previous key file others may read is
refused like the master key itself; a data directory whose rotation did not finish opens
for nothing; after a rotation the old key opens neither the state store nor a gateway."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.identity.crypto import (
    PREVIOUS_KEYS_DIR,
    ROTATION_MARKER,
    MasterKeyError,
    load_previous_master_keys,
)
from tests.e2e.gateway_process import start_gateway


def _key_file(path: Path, mode: int) -> Path:
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("where", ["configured", "data directory"])
def test_a_previous_key_others_may_read_is_refused(tmp_path: Path, where: str) -> None:
    data = tmp_path / "data"
    (data / PREVIOUS_KEYS_DIR).mkdir(parents=True, mode=0o700)
    if where == "configured":
        loose = _key_file(tmp_path / "old.key", 0o640)
        files = [str(loose)]
    else:
        loose = _key_file(data / PREVIOUS_KEYS_DIR / "abc.key", 0o604)
        files = []
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_previous_master_keys(data, files)
    env = {"NFYIO_PREVIOUS_MASTER_KEY_FILES": ",".join(files)} if files else {}
    with pytest.raises(RuntimeError, match="chmod 600"):
        start_gateway(data, extra_env=env)


def test_an_unfinished_rotation_keeps_the_data_directory_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gateway = start_gateway(data)
    gateway.stop()
    (data / ROTATION_MARKER).write_text("0123456789abcdef\n")
    with pytest.raises(RuntimeError, match="rotation did not finish"):
        start_gateway(data)
    listed = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "keys", "list", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=gateway.env,
        timeout=60,
    )
    assert listed.returncode != 0 and "rotation did not finish" in listed.stderr


def test_the_old_key_opens_nothing_after_a_rotation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gateway = start_gateway(data)
    gateway.stop()
    old = data / "master.key"
    kept = tmp_path / "old.key"
    kept.write_bytes(old.read_bytes())
    kept.chmod(0o600)
    rotated = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "rotate-master-key", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=gateway.env,
        timeout=120,
    )
    assert rotated.returncode == 0, rotated.stderr
    with pytest.raises(RuntimeError, match="different master key"):
        start_gateway(data, extra_env={"NFYIO_MASTER_KEY_FILE": str(kept)})
