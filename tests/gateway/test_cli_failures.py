"""``nfyio-gateway`` as an operator meets it on a host, run as the real command: what an
operator can cause (a state store that is down or newer than this release, a data
directory that cannot be one, no terminal for a password prompt, a port in use, a reader
that goes away) is one line on stderr with exit status 1 (2 for usage), never a Python
traceback; refusals say why; lists are JSON documents; a bad argument changes nothing."""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.services.postgres import free_port

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NFYIO_")}
    env.update(extra)
    return env


def cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env or environment(),
        cwd=cwd,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str], status: int, *expected: str) -> None:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nfyio-gateway"), done.stderr
    for text in expected:
        assert text in lines[0]


def made(tmp_path: Path) -> Path:
    """A data directory that commands have used (its state store created)."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # the CLI refuses one that does not exist
    done = cli(tmp_path, "keys", "list", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    return data


def test_state_store_of_a_newer_release(tmp_path: Path) -> None:
    data = made(tmp_path)
    with sqlite3.connect(data / "identity.db") as conn:
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)")
    for argv in (["keys", "list"], ["users", "list"], ["audit", "tail"], ["jwt", "rotate"]):
        one_line(cli(tmp_path, *argv, "--data-dir", str(data)), 1, "schema version 9999")
    # The rotation stops before it changes anything: no mark, no staged key, and the
    # data directory stays usable by the release it belongs to.
    before = sorted(path.name for path in data.iterdir())
    one_line(cli(tmp_path, "rotate-master-key", "--data-dir", str(data)), 1, "upgrade")
    after = sorted(path.name for path in data.iterdir())
    assert "rotation.pending" not in after and "master.key.next" not in after
    assert set(after) - set(before) <= {"serve.lock"}


def test_postgres_state_store_down(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://nfyio:pg-Secret-77@127.0.0.1:{port}/nfyio"
    env = environment(NFYIO_IDENTITY_URL=url, NFYIO_MASTER_KEY=MASTER_KEY)
    data = tmp_path / "data"
    for argv in (["keys", "list"], ["accounts", "create", "--name", "a"], ["audit", "export"]):
        done = cli(tmp_path, *argv, "--data-dir", str(data), env=env)
        one_line(done, 1, f"the state store postgresql://nfyio@127.0.0.1:{port}/nfyio")
        assert "pg-Secret-77" not in done.stderr
    key = tmp_path / "new.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode())
    key.chmod(0o600)
    done = cli(
        tmp_path, "rotate-master-key", "--new-key-file", str(key), "--data-dir", str(data), env=env
    )
    one_line(done, 1, "the state store")
    assert not (data / "rotation.pending").exists()


def test_data_directory_that_cannot_be_one(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "data").symlink_to(tmp_path / "file")
    one_line(cli(tmp_path, "keys", "list", "--data-dir", "data"), 1, "File exists")
    garbage = tmp_path / "garbage"
    garbage.mkdir(mode=0o700)
    (garbage / "master.key").write_text(MASTER_KEY + "\n")
    (garbage / "master.key").chmod(0o600)
    (garbage / "identity.db").write_bytes(b"this is no SQLite database " * 100)
    one_line(cli(tmp_path, "keys", "list", "--data-dir", str(garbage)), 1, "not a database")


def test_a_data_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """Run from another directory than the gateway's (``./data`` is relative) or with a
    typo, a command made a new state store there: a key or account that works nowhere.
    It is refused, nothing made; an empty directory made on purpose is provisioned."""
    data = tmp_path / "data"
    for argv in (["keys", "create", "--name", "ci", "--scope", "admin"], ["accounts", "list"]):
        done = cli(tmp_path, *argv)
        one_line(done, 2, f"configuration error: the data directory {data} does not exist")
        assert "mkdir -m 700" in done.stderr and done.stdout == ""
        assert not data.exists()
    data.mkdir(mode=0o700)
    done = cli(tmp_path, "keys", "create", "--name", "ci", "--scope", "admin")
    assert done.returncode == 0 and "secret access key: sk_" in done.stdout
    done = cli(tmp_path, "keys", "list")
    assert done.returncode == 0 and done.stderr == ""


def test_password_prompt_without_a_terminal(tmp_path: Path) -> None:
    data = made(tmp_path)
    create = ["users", "create", "bob", "--scope", "read:objects", "--data-dir", str(data)]
    one_line(cli(tmp_path, *create), 2, "--password-stdin")
    done = cli(tmp_path, *create, "--password-stdin", stdin="bobs-password-1\n")
    assert done.returncode == 0 and json.loads(done.stdout)["username"] == "bob"
    one_line(cli(tmp_path, "users", "set-password", "bob", "--data-dir", str(data)), 2)


def test_refusals_say_why(tmp_path: Path) -> None:
    data = made(tmp_path)
    where = ("--data-dir", str(data))
    one_line(cli(tmp_path, "clients", "delete", "cl_NOPE", *where), 1, "no client 'cl_NOPE'")
    one_line(cli(tmp_path, "jwt", "remove", "kid_NOPE", *where), 1, "no signing key")
    active = json.loads(cli(tmp_path, "jwt", "rotate", *where).stdout)["active_kid"]
    one_line(cli(tmp_path, "jwt", "remove", active, *where), 1, "active signing key")
    one_line(cli(tmp_path, "users", "enable", "nobody", *where), 1, "no user 'nobody'")


def listed(tmp_path: Path, data: Path, *argv: str) -> Any:
    done = cli(tmp_path, *argv, "list", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_lists_are_one_json_document(tmp_path: Path) -> None:
    data = made(tmp_path)
    assert listed(tmp_path, data, "users") == []
    assert listed(tmp_path, data, "clients") == []
    assert listed(tmp_path, data, "jwt") == []
    where = ("--data-dir", str(data))
    for name in ("ann", "ben"):
        create = ["users", "create", name, "--scope", "read:objects", "--password-stdin"]
        assert cli(tmp_path, *create, *where, stdin="long-enough-pw\n").returncode == 0
        create = ["clients", "create", "--name", name, "--scope", "read:objects"]
        assert cli(tmp_path, *create, *where).returncode == 0
        assert cli(tmp_path, "jwt", "rotate", *where).returncode == 0
    assert sorted(u["username"] for u in listed(tmp_path, data, "users")) == ["ann", "ben"]
    assert sorted(c["name"] for c in listed(tmp_path, data, "clients")) == ["ann", "ben"]
    assert [k["active"] for k in listed(tmp_path, data, "jwt")].count(True) == 1


def test_audit_export_checks_its_arguments_before_the_output(tmp_path: Path) -> None:
    data = made(tmp_path)
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text('{"an": "earlier export"}\n')
    done = cli(
        tmp_path, "audit", "export", "--since", "yesterday", "--output", str(earlier),
        "--data-dir", str(data),
    )  # fmt: skip
    one_line(done, 2, "--since")
    assert earlier.read_text() == '{"an": "earlier export"}\n'
    missing = tmp_path / "no-such-dir" / "out.jsonl"
    done = cli(tmp_path, "audit", "export", "--output", str(missing), "--data-dir", str(data))
    one_line(done, 1, "--output", "No such file or directory")
    earlier.chmod(0o644)
    done = cli(tmp_path, "audit", "export", "--output", str(earlier), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert earlier.stat().st_mode & 0o777 == 0o600


def test_serve_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(
            tmp_path, "serve", "--data-dir", str(tmp_path / "data"), "--s3-port", str(port),
            "--api-port", str(free_port()),
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "address already in use" in done.stderr.splitlines()[-1]


def test_a_reader_that_goes_away(tmp_path: Path) -> None:
    data = made(tmp_path)
    command = [sys.executable, "-m", "gateway.cli", "keys", "list", "--data-dir", str(data)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=environment()
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()  # before the interpreter has even started: every write fails
        error = child.stderr.read().decode()
        assert child.wait(timeout=120) == 141
    assert error == ""


def _certificate(tmp_path: Path, *, expired: bool) -> tuple[str, str]:
    """A self-signed certificate and its key, valid now or expired yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    end = now - timedelta(days=1) if expired else now + timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=10))
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    tag = "expired" if expired else "valid"
    cert_path, key_path = tmp_path / f"{tag}.pem", tmp_path / f"{tag}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


UPSTREAM = {
    "NFYIO_BACKEND": "s3",
    "NFYIO_UPSTREAM_ENDPOINT": "http://127.0.0.1:9",
    "NFYIO_UPSTREAM_ACCESS_KEY_ID": "gateway",
    "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": "upstream-secret-value",
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NFYIO_S3_PORT": "70000"}, "server.s3_port"),
        ({"NFYIO_API_PORT": "0"}, "server.api_port"),
        ({"NFYIO_WORKERS": "0"}, "server.workers"),
        ({"NFYIO_HOST": ""}, "server.host"),
        ({"NFYIO_HOST": "[::1]"}, "without brackets"),
        ({"NFYIO_HOST": "no-such-host.invalid"}, "server.host 'no-such-host.invalid'"),
        ({"NFYIO_SERVER_LOG_LEVEL": "loud"}, "server.log_level"),
        ({"NFYIO_SERVER_SHUTDOWN_TIMEOUT": "-1"}, "server.shutdown_timeout"),
        ({"NFYIO_SERVER_HEADER_TIMEOUT": "nan"}, "server.header_timeout"),
        ({"NFYIO_UPSTREAM_ENDPOINT_URL": "http://127.0.0.1:9"}, "NFYIO_UPSTREAM_ENDPOINT"),
        ({"NFYIO_FSNC": "true"}, "$NFYIO_FSNC: unknown variable (did you mean $NFYIO_FSYNC?)"),
        ({"NFYIO_WORKER": "2"}, "did you mean $NFYIO_WORKERS?"),
        ({"NFYIO_SERVR_WORKERS": "2"}, "did you mean $NFYIO_SERVER_WORKERS?"),
        ({"NFYIO_STORAGE_FSNC": "true"}, "storage.fsnc (did you mean storage.fsync?)"),
        (
            {
                "NFYIO_IDENTITY_URL": "postgresql://gw:db-secret-value@[db/nfyio",
                "NFYIO_MASTER_KEY": MASTER_KEY,
            },
            "identity.url",
        ),
        (
            {
                "NFYIO_IDENTITY_URL": "postgresql://gw:db-secret-value@db:99999/nfyio",
                "NFYIO_MASTER_KEY": MASTER_KEY,
            },
            "identity.url",
        ),
        ({**UPSTREAM, "NFYIO_UPSTREAM_ENDPOINT": "not a url"}, "backend.endpoint_url"),
        ({**UPSTREAM, "NFYIO_UPSTREAM_ADDRESSING_STYLE": "sideways"}, "addressing_style"),
        ({**UPSTREAM, "NFYIO_UPSTREAM_CONDITIONAL_WRITES": "PutBucket"}, "conditional_writes"),
        ({"NFYIO_AUDIT_FILE": "no-such-directory/audit.jsonl"}, "audit.file"),
        ({"NFYIO_ROOT_ACCESS_KEY": "admin"}, "auth.root_secret_key"),
        (
            {"NFYIO_ROOT_ACCESS_KEY": "a", "NFYIO_ROOT_SECRET_KEY": "root-secret-value"},
            "access key id must be",
        ),
        (
            {"NFYIO_ROOT_ACCESS_KEY": "admin", "NFYIO_ROOT_SECRET_KEY": "secret-value x"},
            "secret must be",
        ),
        ({"NFYIO_TLS_CERT": "missing.pem", "NFYIO_TLS_KEY": "missing.key"}, "missing.pem"),
        ({"NFYIO_TLS_CERT": "<valid>", "NFYIO_TLS_KEY": "<other>"}, "KEY_VALUES_MISMATCH"),
        ({"NFYIO_TLS_CERT": "<expired>", "NFYIO_TLS_KEY": "<expired-key>"}, "expired on"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    """Each refused before anything is bound or created: one line naming the setting,
    exit status 2; never a traceback from a worker, never a start that ignores it, never
    the password or secret the setting holds."""
    valid, _ = _certificate(tmp_path, expired=False)
    expired, expired_key = _certificate(tmp_path, expired=True)
    files = {"<valid>": valid, "<other>": expired_key, "<expired>": expired}
    files["<expired-key>"] = expired_key
    ports = {"NFYIO_S3_PORT": str(free_port()), "NFYIO_API_PORT": str(free_port())}
    settings = {name: files.get(value, value) for name, value in {**ports, **env}.items()}
    data = tmp_path / "data"
    done = cli(tmp_path, "serve", "--data-dir", str(data), env=environment(**settings))
    one_line(done, 2, "configuration error", expected)
    assert "secret-value" not in done.stderr
    assert not data.exists()
