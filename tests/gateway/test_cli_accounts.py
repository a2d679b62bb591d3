"""``nfyio-gateway accounts create/list/delete`` (and ``keys create --account``) on the
data directory's state store."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.identity.crypto import load_or_create_master_key
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--data-dir", str(data), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else None


def in_store(data: Path, work: Any) -> Any:
    async def go() -> Any:
        store = await IdentityStore.open(data, load_or_create_master_key(data, None))
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def test_create_list_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # the CLI refuses one that does not exist
    code, made = run(capsys, data, "accounts", "create", "--name", "Acme", "--email", "a@acme.io")
    assert code == 0 and made["id"].startswith("acct_") and made["email"] == "a@acme.io"
    secret = made["admin_key"]["secret"]
    key = in_store(data, lambda s: s.find_by_secret(secret, datetime.now(UTC)))
    assert key.account_id == made["id"] and key.scopes == {"admin"}

    code, listed = run(capsys, data, "accounts", "list")
    assert code == 0 and {a["id"] for a in listed} == {SYSTEM_ACCOUNT_ID, made["id"]}

    code, other = run(
        capsys,
        data,
        "keys",
        "create",
        "--name",
        "ci",
        "--scope",
        "read:objects",
        "--account",
        made["id"],
    )
    assert code == 0 and other["account_id"] == made["id"]

    # An account that owns a bucket is kept.
    in_store(data, lambda s: s.bucket_settings.put("acme-bucket", "owner", made["id"]))
    assert main(["accounts", "delete", made["id"], "--data-dir", str(data)]) == 1
    assert "still owns buckets: acme-bucket" in capsys.readouterr().err
    in_store(data, lambda s: s.bucket_settings.forget_bucket("acme-bucket"))
    code, _ = run(capsys, data, "accounts", "delete", made["id"])
    assert code == 0
    assert in_store(data, lambda s: s.find_by_secret(secret, datetime.now(UTC))) is None


def test_refusals(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(mode=0o700)
    data = str(tmp_path / "data")
    assert main(["accounts", "delete", SYSTEM_ACCOUNT_ID, "--data-dir", data]) == 1
    assert main(["accounts", "delete", "acct_NOPE", "--data-dir", data]) == 1
    assert main(["accounts", "create", "--name", " ", "--data-dir", data]) == 2
    assert main(["accounts", "create", "--name", "x", "--email", "nope", "--data-dir", data]) == 2
    assert main(["accounts", "create", "--name", "x", "--email", "x@y.io", "--data-dir", data]) == 0
    assert main(["accounts", "create", "--name", "z", "--email", "X@y.io", "--data-dir", data]) == 1
    # Names are unique too, compared case-insensitively: "x" exists.
    assert main(["accounts", "create", "--name", " X ", "--data-dir", data]) == 1
    assert (
        main(
            [
                "keys",
                "create",
                "--name",
                "k",
                "--scope",
                "admin",
                "--account",
                "acct_NOPE",
                "--data-dir",
                data,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "system account" in err and "no such account" in err
    assert "another account has this name" in err


def test_users_and_clients_of_an_account(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``users create`` and ``clients create`` take ``--account`` like ``keys create``:
    without it an operator could give a tenant no user or client but the system's."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # the CLI refuses one that does not exist
    code, made = run(capsys, data, "accounts", "create", "--name", "Acme")
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    argv = ["users", "create", "alice", "--scope", "read:objects", "--password-stdin"]
    assert main([*argv, "--account", made["id"], "--data-dir", str(data)]) == 0
    user = json.loads(capsys.readouterr().out)
    assert user["account_id"] == made["id"]
    stored = in_store(data, lambda s: s.users.find("alice"))
    assert stored.account_id == made["id"]

    argv = ["clients", "create", "--name", "etl", "--scope", "read:objects"]
    assert main([*argv, "--account", made["id"], "--data-dir", str(data)]) == 0
    client = json.loads(capsys.readouterr().out)
    assert client["account_id"] == made["id"]
    stored = in_store(data, lambda s: s.clients.get(client["client_id"]))
    assert stored.account_id == made["id"]

    # Without --account: the system account, as before.
    assert main([*argv, "--data-dir", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["account_id"] == SYSTEM_ACCOUNT_ID

    # An account that does not exist: refused, nothing made.
    for refused in (
        ["users", "create", "bob", "--scope", "read:objects", "--password-stdin"],
        argv,
    ):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        assert main([*refused, "--account", "acct_NOPE", "--data-dir", str(data)]) == 1
        assert "no such account acct_NOPE" in capsys.readouterr().err
    assert in_store(data, lambda s: s.users.find("bob")) is None
