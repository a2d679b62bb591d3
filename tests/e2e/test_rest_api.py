"""The seed's flows against the real gateway: keys made by the API, used on both listeners.

Bearer and X-API-Key on the API and S3 listeners, bucket limits on both, revocation seen
by an already-running boto3 client, expiry, rotation with and without grace, batched
``last_used_at``, escalation refused, and no secret in the gateway's log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.rest_util import ADMIN, api_json, bearer, call, make_key
from tests.e2e.tenants import new_tenant

SECRETS: list[str] = []


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of our own: a short last_used_at flush interval and a log to grep."""
    yield from own_gateway(
        tmp_path_factory, "gw-rest", extra_env={"NFYIO_AUTH_USAGE_FLUSH_INTERVAL": "0.2"}
    )


def key(gw: Gateway, **body: Any) -> Any:
    made = make_key(gw, **body)
    SECRETS.append(made["secret"])
    return made


def bucket_name(prefix: str = "rest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def denied(exc: ClientError) -> bool:
    code = exc.response["Error"]["Code"]
    return code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}


def test_seed_flow_bearer_and_x_api_key_on_both_listeners(gw: Gateway) -> None:
    name = bucket_name()
    api_json(gw, "POST", "/v1/buckets", body={"name": name}, expect=201)
    made = key(gw, name="seed", scopes=["read:objects", "write:objects", "read:buckets"])
    for headers in (bearer(made["secret"]), {"X-API-Key": made["secret"]}):
        status, _, body = call(gw, "GET", gw.s3_url + "/", headers=headers)
        assert status == 200 and f"<Name>{name}</Name>".encode() in body
        listing = api_json(gw, "GET", "/v1/buckets?limit=1000", headers=headers)
        assert name in [b["name"] for b in listing["buckets"]]
    s3 = gw.client(made["access_key_id"], made["secret_access_key"])
    s3.put_object(Bucket=name, Key="hello.txt", Body=b"hi")
    status, _, body = call(
        gw, "GET", f"{gw.s3_url}/{name}/hello.txt", headers=bearer(made["secret"])
    )
    assert (status, body) == (200, b"hi")
    status, _, _ = call(gw, "GET", gw.s3_url + "/", headers=bearer("sk_unknown"))
    assert status == 403


def test_bucket_limits_on_both_listeners(gw: Gateway) -> None:
    prefix = f"lim{uuid.uuid4().hex[:6]}"
    mine, other = f"{prefix}-a1", f"{prefix}-b1"
    for name in (mine, other):
        api_json(gw, "POST", "/v1/buckets", body={"name": name}, expect=201)
    made = key(
        gw, scopes=["read:buckets", "read:objects", "write:objects"], buckets=[f"{prefix}-a*"]
    )
    s3 = gw.client(made["id"], made["secret"])
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [mine]
    s3.put_object(Bucket=mine, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=other, Key="k", Body=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=mine, Key="c", CopySource={"Bucket": other, "Key": "k"})
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    status, _, body = call(gw, "GET", gw.s3_url + "/", headers={"X-API-Key": made["secret"]})
    assert status == 200 and mine.encode() in body and other.encode() not in body
    status, _, _ = call(
        gw, "GET", f"{gw.s3_url}/{other}?list-type=2", headers=bearer(made["secret"])
    )
    assert status == 403
    listing = api_json(gw, "GET", "/v1/buckets", headers=bearer(made["secret"]))
    assert [b["name"] for b in listing["buckets"]] == [mine]


def test_revocation_is_immediate_for_a_running_boto3_client(gw: Gateway) -> None:
    made = key(gw, scopes=["read:buckets"])
    s3 = gw.client(made["id"], made["secret"])
    s3.list_buckets()
    assert call(gw, "DELETE", f"/v1/access-keys/{made['id']}", headers=ADMIN)[0] == 204
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert denied(info.value)
    assert call(gw, "GET", gw.s3_url + "/", headers=bearer(made["secret"]))[0] == 403
    assert call(gw, "GET", "/v1/me", headers=bearer(made["secret"]))[0] == 401


def sleep_past(when: datetime | str) -> None:
    """Sleep until a little after the instant ``when`` (ISO 8601 as the API writes it)."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.3)


def test_expiry(gw: Gateway) -> None:
    # Valid before its expiry: a key with an hour left (two seconds could run out before
    # its first requests on a loaded machine). The expiring key only has to be created
    # before its expiry; that is then waited out.
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    lasting = key(gw, scopes=["read:buckets"], expires_at=in_an_hour.isoformat())
    gw.client(lasting["id"], lasting["secret"]).list_buckets()
    assert call(gw, "GET", "/v1/me", headers=bearer(lasting["secret"]))[0] == 200
    expires = datetime.now(UTC) + timedelta(seconds=5)
    made = key(gw, scopes=["read:buckets"], expires_at=expires.isoformat())
    s3 = gw.client(made["id"], made["secret"])
    sleep_past(expires)
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert denied(info.value)
    assert call(gw, "GET", gw.s3_url + "/", headers={"X-API-Key": made["secret"]})[0] == 403
    status, _, body = call(gw, "GET", "/v1/me", headers=bearer(made["secret"]))
    assert status == 401 and b"InvalidApiKey" in body
    shown = api_json(gw, "GET", f"/v1/access-keys/{made['id']}")
    assert shown["status"] == "expired"


def test_rotation_without_grace_drops_the_old_secret_at_once(gw: Gateway) -> None:
    made = key(gw, scopes=["read:buckets"])
    old = gw.client(made["id"], made["secret"])
    old.list_buckets()
    rotated = api_json(gw, "POST", f"/v1/access-keys/{made['id']}/rotate")
    SECRETS.append(rotated["secret"])
    with pytest.raises(ClientError) as info:
        old.list_buckets()
    assert denied(info.value)
    gw.client(made["id"], rotated["secret"]).list_buckets()


def rotate(gw: Gateway, made: Any, grace_seconds: int) -> Any:
    rotated = api_json(
        gw, "POST", f"/v1/access-keys/{made['id']}/rotate", body={"grace_seconds": grace_seconds}
    )
    SECRETS.append(rotated["secret"])
    return rotated


def test_rotation_with_grace(gw: Gateway) -> None:
    # During the grace both secrets work: a grace of an hour (two seconds could run out
    # before the old secret's requests on a loaded machine). After it only the new one
    # does: a grace of two seconds, waited out.
    made = key(gw, scopes=["read:buckets"])
    rotated = rotate(gw, made, 3600)
    old, new = gw.client(made["id"], made["secret"]), gw.client(made["id"], rotated["secret"])
    old.list_buckets()
    new.list_buckets()
    assert call(gw, "GET", gw.s3_url + "/", headers=bearer(made["secret"]))[0] == 200
    made = key(gw, scopes=["read:buckets"])
    rotated = rotate(gw, made, 2)
    old, new = gw.client(made["id"], made["secret"]), gw.client(made["id"], rotated["secret"])
    sleep_past(rotated["previous_secret_expires_at"])
    with pytest.raises(ClientError):
        old.list_buckets()
    assert call(gw, "GET", gw.s3_url + "/", headers=bearer(made["secret"]))[0] == 403
    new.list_buckets()


def test_last_used_at_appears_after_the_flush(gw: Gateway) -> None:
    made = key(gw, scopes=["read:buckets"])
    assert api_json(gw, "GET", f"/v1/access-keys/{made['id']}")["last_used_at"] is None
    gw.client(made["id"], made["secret"]).list_buckets()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        shown = api_json(gw, "GET", f"/v1/access-keys/{made['id']}")
        if shown["last_used_at"] is not None:
            break
        time.sleep(0.1)
    assert shown["last_used_at"] is not None


def test_escalation_is_refused_end_to_end(gw: Gateway) -> None:
    limited = key(gw, scopes=["read:objects", "write:objects"], buckets=["esc-*"])
    as_limited = bearer(limited["secret"])
    for body, status in (
        ({"name": "x", "scopes": ["admin"]}, 403),
        ({"name": "x", "scopes": ["write:buckets"]}, 403),
        ({"name": "x", "scopes": ["read:objects"], "buckets": ["other"]}, 403),
        ({"name": "x", "scopes": ["read:objects"], "buckets": ["*"]}, 403),
    ):
        assert call(gw, "POST", "/v1/access-keys", headers=as_limited, body=body)[0] == status
    child = make_key(gw, as_limited, scopes=["read:objects"])
    SECRETS.append(child["secret"])
    assert child["buckets"] == ["esc-*"] and child["owner"] == limited["id"]
    other = key(gw, scopes=["read:objects"])
    for method, path in (
        ("GET", f"/v1/access-keys/{other['id']}"),
        ("DELETE", f"/v1/access-keys/{other['id']}"),
        ("POST", f"/v1/access-keys/{other['id']}/rotate"),
    ):
        assert call(gw, method, path, headers=as_limited)[0] == 404
    assert call(gw, "DELETE", f"/v1/access-keys/{limited['id']}", headers=ADMIN)[0] == 204
    assert (
        call(
            gw,
            "POST",
            "/v1/access-keys",
            headers=as_limited,
            body={"name": "x", "scopes": ["read:objects"]},
        )[0]
        == 401
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "[!",
        "logs-[a",
        "logs]",
        "logs!",
        "[]a]",
        "logs-[]",
        "logs-[!]",
        "[a-",
        "[z-a]x",
        "[!z-a]x",
        "logs-[az-b]",
        "logs-[a--]",
        "logs-[!--z]",
    ],
)
def test_malformed_bucket_patterns_are_refused(gw: Gateway, pattern: str) -> None:
    """fnmatch reads an unclosed ``[`` or a stray ``]``/``!`` as a literal no bucket name
    holds, and drops a reversed range (``z-a``) without a word: such a key would be
    limited to nothing, or to something else than meant. So would a set matching no
    bucket-name character (``[!--z]``)."""
    body = {"name": "x", "scopes": ["read:buckets", "read:objects"], "buckets": [pattern]}
    status, _, raw = call(gw, "POST", "/v1/access-keys", headers=ADMIN, body=body)
    assert status == 400, raw
    error = json.loads(raw)["error"]
    assert (error["code"], error["details"]["field"]) == ("ValidationError", "buckets"), raw


@pytest.mark.parametrize(
    "pattern", ["logs-[ab]*", "logs-[!x]", "logs-[a-c]?", "logs-[-.]", "logs-[--a]", "[a-c-e]x"]
)
def test_bracket_patterns_limit_a_key(gw: Gateway, pattern: str) -> None:
    made = key(gw, scopes=["read:objects"], buckets=[pattern])
    assert made["buckets"] == [pattern]


def test_root_key_is_protected(gw: Gateway) -> None:
    status, _, body = call(gw, "DELETE", f"/v1/access-keys/{gw.access_key}", headers=ADMIN)
    assert status == 409 and b"Conflict" in body
    rotate = f"/v1/access-keys/{gw.access_key}/rotate"
    assert call(gw, "POST", rotate, headers=ADMIN)[0] == 409
    gw.client().list_buckets()


def test_examples_api_keys_script(gw: Gateway) -> None:
    """examples/api-keys.sh (the seed's curl flow) runs clean against a real gateway."""
    script = Path(__file__).resolve().parents[2] / "examples" / "api-keys.sh"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ADMIN_TOKEN": ROOT_SECRET,
        "NFYIO_API_URL": gw.api_url,
        "AWS_ENDPOINT_URL": gw.s3_url,
    }
    result = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "after revocation: HTTP 401" in result.stdout and "Hello, nfyio!" in result.stdout


def test_head_answers_as_get_without_the_body(gw: Gateway) -> None:
    """Every /v1 GET route answers HEAD (RFC 9110 9.3.2): the status and headers of the
    GET, refusals included (the same row: scope, query and access checks), no body."""
    bucket = bucket_name("head")
    s3 = gw.client()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 100_000, ContentType="text/plain")
    reader = key(gw, name="head", scopes=["read:buckets"])
    cases = [
        ("/v1/me", ADMIN),
        (f"/v1/buckets/{bucket}/objects", ADMIN),
        (f"/v1/buckets/{bucket}/objects/content?key=k", ADMIN),
        (f"/v1/buckets/{bucket}/objects/content?key=absent", ADMIN),
        ("/v1/access-keys", ADMIN),
        ("/v1/accounts", ADMIN),
        ("/v1/openapi.json", {}),
        ("/v1/buckets?bogus=1", ADMIN),  # a query parameter the route does not have
        ("/v1/me", {}),  # no credentials
        (f"/v1/buckets/{bucket}/objects", bearer(reader["secret"])),  # scope missing
        ("/v1/accounts", bearer(reader["secret"])),  # the root key's only
    ]
    kept = ("Content-Type", "Content-Length", "ETag", "WWW-Authenticate", "Content-Disposition")
    for path, headers in cases:
        got_status, got_headers, got_body = call(gw, "GET", path, headers=headers)
        head_status, head_headers, head_body = call(gw, "HEAD", path, headers=headers)
        assert (head_status, head_body) == (got_status, b""), (path, head_status)
        assert {h: head_headers.get(h) for h in kept} == {h: got_headers.get(h) for h in kept}, path
        assert int(head_headers["Content-Length"]) == len(got_body), path
    # The bucket listing's HEAD does not make the body (no counts, no per-bucket reads),
    # so it does not claim its length (docs/api.md).
    for path in ("/v1/buckets", "/v1/buckets?stats=true"):
        got_status, got_headers, _ = call(gw, "GET", path, headers=ADMIN)
        head_status, head_headers, head_body = call(gw, "HEAD", path, headers=ADMIN)
        assert (head_status, head_body) == (got_status, b"") == (200, b"")
        assert head_headers["Content-Type"] == got_headers["Content-Type"]
        assert "Content-Length" not in head_headers
    assert call(gw, "PATCH", "/v1/buckets", headers=ADMIN)[0] == 405


def test_mine_lists_the_callers_own_keys_in_pages(gw: Gateway) -> None:
    """``?mine=true``: the keys the caller created and the one it calls with, for an admin
    too (whose plain listing is the whole account's), paged like the plain listing."""
    tenant = new_tenant(gw, "mine")
    other = tenant.key(name="other admin", scopes=["admin"])
    reader = make_key(gw, headers=bearer(other["secret"]), name="not mine", scopes=["read:buckets"])
    made = [tenant.key(name=f"mine {n}", scopes=["read:buckets"])["id"] for n in range(3)]
    everything = api_json(gw, "GET", "/v1/access-keys?limit=1000", headers=tenant.headers)
    assert reader["id"] in {k["id"] for k in everything["access_keys"]}
    seen: list[str] = []
    cursor = ""
    while True:
        page = api_json(
            gw, "GET", f"/v1/access-keys?mine=true&limit=2&cursor={cursor}", headers=tenant.headers
        )
        seen += [k["id"] for k in page["access_keys"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == sorted([tenant.key_id, other["id"], *made]), seen
    # A non-admin's own keys: the key it calls with too, in its plain listing as well
    # (docs/api.md: "anyone else [sees] only the keys it created plus the key it is
    # calling with").
    as_reader = bearer(reader["secret"])
    mine = api_json(gw, "GET", "/v1/access-keys?mine=true", headers=as_reader)
    assert [k["id"] for k in mine["access_keys"]] == [reader["id"]]
    plain = api_json(gw, "GET", "/v1/access-keys", headers=as_reader)
    assert [k["id"] for k in plain["access_keys"]] == [reader["id"]]
    status, _, body = call(gw, "GET", "/v1/access-keys?mine=yes", headers=tenant.headers)
    assert status == 400 and json.loads(body)["error"]["details"]["field"] == "mine"


def test_no_secret_in_the_gateway_log(gw: Gateway) -> None:
    """Runs last: every secret this module created, used or rotated is absent from the log."""
    made = key(gw, scopes=["read:buckets"])
    call(gw, "GET", gw.s3_url + "/", headers=bearer(made["secret"]))
    call(gw, "GET", "/v1/me", headers={"X-API-Key": made["secret"]})
    call(gw, "GET", "/v1/me", headers=bearer(made["secret"] + "x"))  # a failed attempt too
    rotated = api_json(gw, "POST", f"/v1/access-keys/{made['id']}/rotate")
    SECRETS.append(rotated["secret"])
    gw.client(made["id"], rotated["secret"]).list_buckets()
    time.sleep(0.5)  # let the access log and the usage flush reach the file
    log = gw.log()
    assert made["id"] in log or "GET" in log  # the log is being written
    assert "sk_" not in log  # every generated secret starts with sk_
    for secret in [*SECRETS, ROOT_SECRET]:
        assert secret not in log
        assert secret[3:] not in log  # not even without its prefix
