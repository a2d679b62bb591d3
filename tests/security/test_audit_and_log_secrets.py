"""No secret reaches the audit log or the access log.

One gateway is driven through every audited flow with credentials that are easy to find
again: access-key secrets (created and rotated), passwords (set, changed, typed wrong,
typed into the username field), OAuth client secrets, refresh and access tokens, SigV4
signatures of headers and presigned URLs, session cookies, secrets in query strings.
Then every place a record lands is searched for each of them: the API's listing, the
command line's export, the JSON-lines file, the database file itself, and the process
log with its access lines, and the line it writes for a request that is not valid HTTP.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import ROOT_SECRET, Gateway, start_gateway
from tests.e2e.oauth_util import make_setup
from tests.e2e.rest_util import ADMIN, api_json, bearer, call, make_key
from tests.e2e.s3util import urlopen


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = Path(tmp_path_factory.mktemp("audit-secrets"))
    running = start_gateway(
        tmp / "data",
        extra_env={
            "NFYIO_AUDIT_FILE": str(tmp / "audit.jsonl"),
            "NFYIO_AUDIT_FLUSH_INTERVAL": "0.1",
            "NFYIO_SERVER_LOG_LEVEL": "debug",
        },
    )
    yield running
    running.stop()


def _drive(gateway: Gateway) -> list[str]:
    """Every audited flow; returns the secrets it used."""
    secrets: list[str] = [ROOT_SECRET]
    key = make_key(gateway, scopes=["admin"])
    secrets.append(key["secret"])
    rotated = api_json(
        gateway, "POST", f"/v1/access-keys/{key['id']}/rotate", body={"grace_seconds": 60}
    )
    secrets.append(rotated["secret"])
    s3 = gateway.client(key["id"], rotated["secret"], signature_version="s3v4")
    bucket = f"sec-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert urlopen(gateway, url).status == 200
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    secrets.append(signature)
    # Secrets in query strings and headers of the API (the access log must not keep them).
    call(gateway, "GET", f"/v1/buckets?token={key['secret']}", headers=bearer(key["secret"]))
    call(gateway, "GET", "/v1/me", headers={"X-API-Key": rotated["secret"]})
    call(
        gateway,
        "DELETE",
        "/console/session",
        headers={"Cookie": f"nfyio_console_refresh={key['secret']}"},
    )

    setup = make_setup(gateway)
    secrets += [setup.password, setup.client_secret]
    tokens = setup.login()
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    setup.token(
        grant_type="password", username=setup.username, password="Wrong-Pass-123", **setup.creds()
    )
    secrets.append("Wrong-Pass-123")
    typed = f"PasswordInUsernameField{uuid.uuid4().hex}"
    setup.token(grant_type="password", username=typed, password="irrelevant-1", **setup.creds())
    secrets.append(typed)
    setup.token(
        grant_type="client_credentials",
        client_id=setup.client_id,
        client_secret="Bad-Client-Secret-9",
    )
    secrets.append("Bad-Client-Secret-9")
    refreshed = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    secrets.append(refreshed.json()["refresh_token"])
    setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )  # reuse
    new_password = f"New-Password-{uuid.uuid4().hex}"
    api_json(gateway, "PATCH", f"/v1/users/{setup.user_id}", body={"password": new_password})
    secrets.append(new_password)
    user = api_json(
        gateway,
        "POST",
        "/v1/users",
        body={
            "username": f"u-{uuid.uuid4().hex[:8]}",
            "password": "Created-Pass-77",
            "scopes": ["read:buckets"],
        },
        expect=201,
    )
    secrets.append("Created-Pass-77")
    client = api_json(
        gateway, "POST", "/v1/clients", body={"name": "c", "scopes": ["read:buckets"]}, expect=201
    )
    secrets.append(client["client_secret"])
    call(gateway, "DELETE", f"/v1/users/{user['id']}", headers=ADMIN)
    call(gateway, "DELETE", f"/v1/access-keys/{key['id']}", headers=ADMIN)
    return secrets


def _assert_absent(where: str, text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}...) is in the {where}"


def test_no_secret_in_any_record(gateway: Gateway, tmp_path: Path) -> None:
    secrets = _drive(gateway)
    listing = json.dumps(api_json(gateway, "GET", "/v1/audit-events?limit=1000"))
    assert "auth.password.failure" in listing and "access_key.rotate" in listing
    _assert_absent("audit listing", listing, secrets)

    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "audit",
            "export",
            "--data-dir",
            str(gateway.data_dir),
        ],
        capture_output=True,
        text=True,
        env=gateway.env,
        cwd=gateway.data_dir.parent,
        timeout=60,
        check=True,
    ).stdout
    assert exported.count("\n") >= 10
    _assert_absent("audit export", exported, secrets)

    time.sleep(0.5)  # the file is appended at each flush
    jsonl = (gateway.data_dir.parent / "audit.jsonl").read_text()
    assert "access_key.create" in jsonl
    _assert_absent("audit file", jsonl, secrets)

    with sqlite3.connect(f"file:{gateway.data_dir / 'identity.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT * FROM audit_events").fetchall()
    _assert_absent("audit table", repr(rows), secrets)

    log = gateway.log()
    access_lines = [line for line in log.splitlines() if " nfyio.access " in line]
    api_lines = [line for line in access_lines if " route=" in line]
    assert len(api_lines) >= 20
    for line in api_lines:  # the API's line names what it must and nothing more
        assert re.search(r"request_id=[0-9a-f]{16} remote=\S+ method=\S+ path=\S+ route=", line)
        assert "?" not in line.split(" path=", 1)[1].split(" ", 1)[0]
    _assert_absent("process log", log, secrets)


def _refused(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(200)


def test_no_secret_in_the_log_line_of_a_refused_request(gateway: Gateway) -> None:
    """aiohttp's parser refuses a request that is not valid HTTP before any handler, and
    its message quotes the refused line: an Authorization or X-API-Key value, a presigned
    URL's signature and credential. The log says what kind of refusal it was only."""
    key = make_key(gateway, scopes=["read:buckets"])
    s3 = gateway.client(key["id"], key["secret"], signature_version="s3v4")
    url = s3.generate_presigned_url("list_buckets")
    query = urllib.parse.urlsplit(url).query
    signature = urllib.parse.parse_qs(query)["X-Amz-Signature"][0]
    secret = key["secret"]
    requests = [
        f"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\x01\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost: x\r\nX-API-Key: {secret}\x7f\r\n\r\n",
        f"GET /?{query}&x=\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /?{query} HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        f"GET / HTTP/1.1\r\nHost: x\r\nCookie: nfyio_console_refresh={secret}\x02\r\n\r\n",
    ]
    for port in (gateway.s3_port, gateway.api_port):
        for request in requests:
            answer = _refused(port, request.encode("latin-1"))
            assert answer.startswith(b"HTTP/1.0 400 "), (request, answer)
    log = gateway.log()
    assert log.count("malformed HTTP request refused") >= 2 * len(requests)
    _assert_absent("process log", log, [secret, signature, key["id"]])
