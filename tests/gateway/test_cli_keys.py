"""``nfyio-gateway keys create/list/revoke/rotate`` on the data directory's identity store."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import ensure_admin
from gateway.cli import main
from gateway.config import load_config
from gateway.identity.crypto import load_or_create_master_key
from gateway.identity.store import IdentityStore


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, Any]:
    code = main(["keys", *argv, "--data-dir", str(data), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else None


def find(data: Path, secret: str) -> Any:
    async def lookup() -> Any:
        store = await IdentityStore.open(data, load_or_create_master_key(data, None))
        try:
            return await store.find_by_secret(secret, datetime.now(UTC))
        finally:
            await store.close()

    return asyncio.run(lookup())


def test_create_list_rotate_revoke(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # the CLI refuses one that does not exist
    code, key = run(
        capsys,
        data,
        "create",
        "--name",
        "ci",
        "--scope",
        "read:objects",
        "--scope",
        "write:objects",
        "--bucket",
        "ci-*",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    )
    assert code == 0 and key["secret"].startswith("sk_")
    assert key["scopes"] == ["read:objects", "write:objects"] and key["buckets"] == ["ci-*"]
    assert key["owner"] is None and key["expires_at"].startswith("2099-01-01")
    assert find(data, key["secret"]).id == key["id"]

    code, listed = run(capsys, data, "list")
    assert code == 0 and [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]

    code, rotated = run(capsys, data, "rotate", key["id"])
    assert code == 0 and rotated["secret"] != key["secret"]
    assert find(data, key["secret"]) is None and find(data, rotated["secret"]) is not None

    code, revoked = run(capsys, data, "revoke", key["id"])
    assert code == 0 and revoked["status"] == "revoked"
    assert find(data, rotated["secret"]) is None
    code, listed = run(capsys, data, "list")
    assert listed == []
    code, listed = run(capsys, data, "list", "--all")
    assert listed[0]["status"] == "revoked"


def test_text_output_shows_secret_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(mode=0o700)
    data = str(tmp_path / "data")
    assert main(["keys", "create", "--name", "t", "--scope", "admin", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "secret access key: sk_" in out and "shown only this once" in out
    assert main(["keys", "list", "--data-dir", data]) == 0
    assert "sk_" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "--name", "x", "--scope", "bogus"],
        ["create", "--name", " ", "--scope", "admin"],
        ["create", "--name", "x", "--scope", "admin", "--expires-at", "soon"],
        ["create", "--name", "x", "--scope", "admin", "--expires-at", "2001-01-01T00:00Z"],
        ["rotate", "ak_X", "--grace", "-1"],
    ],
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    (tmp_path / "d").mkdir()
    assert main(["keys", *argv, "--data-dir", str(tmp_path / "d")]) == 2
    assert "nfyio-gateway keys:" in capsys.readouterr().err


def test_unknown_and_root_keys_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # the CLI refuses one that does not exist
    assert main(["keys", "revoke", "ak_NOPE", "--data-dir", str(data)]) == 1
    assert main(["keys", "rotate", "ak_NOPE", "--data-dir", str(data)]) == 1

    async def make_root() -> None:
        store = await IdentityStore.open(data, load_or_create_master_key(data, None))
        await store.ensure_root_key("AKIACLIROOT000000001", "root-secret-0123456789")
        await store.close()

    asyncio.run(make_root())
    assert main(["keys", "revoke", "AKIACLIROOT000000001", "--data-dir", str(data)]) == 1
    assert main(["keys", "rotate", "AKIACLIROOT000000001", "--data-dir", str(data)]) == 1
    assert "managed by" in capsys.readouterr().err


def test_revoking_a_revoked_key_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Revoked already: exit 1 saying so (a mistyped id of an old key must not read as
    the revocation of the key meant), and no second audit event."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    code, key = run(capsys, data, "create", "--name", "ci", "--scope", "read:objects")
    assert code == 0
    assert run(capsys, data, "revoke", key["id"])[0] == 0
    assert main(["keys", "revoke", key["id"], "--data-dir", str(data)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"nfyio-gateway keys: {key['id']} was revoked already, at ")


def test_the_command_the_start_banner_names_makes_an_admin_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A start on a data directory that has an admin key prints where it came from and the
    command that makes another (``gateway/bootstrap.py``): that command, as printed, works."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    config = load_config(env={"NFYIO_DATA_DIR": str(data)})
    asyncio.run(ensure_admin(config))  # the first start generates one
    source = asyncio.run(ensure_admin(config)).source
    command = re.findall(r"`nfyio-gateway ([^`]+)`", source)
    assert len(command) == 1, source
    code = main([*shlex.split(command[0]), "--data-dir", str(data), "--json"])
    key = json.loads(capsys.readouterr().out)
    assert code == 0 and key["scopes"] == ["admin"]
    assert find(data, key["secret"]).id == key["id"]
