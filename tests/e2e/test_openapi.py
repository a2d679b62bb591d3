"""The OpenAPI document is true of the live server: schemathesis against a real gateway.

``st run`` generates requests from the document (coverage, fuzzing and stateful phases),
sends them with the root key (``bearerAuth``) and, at ``/oauth/*``, with the Basic
credentials of an OAuth client made for the run (``clientBasic``), and checks every
response: no 5xx, only documented status codes, content types and headers, bodies matching
their schemas, schema-violating input refused, credentials not ignored. Two checks are
left out on purpose:

- ``positive_data_acceptance``: some rules depend on state or time and cannot be written
  in JSON Schema (``expires_at`` in the future, S3's bucket-name rules on IP-like names,
  a pagination cursor this server issued; at ``/oauth/*`` a username and password, a
  refresh token or a grant type the client may use), so a schema-valid request may rightly
  get 400.
- ``use_after_free``: a revoked key stays readable (``status: "revoked"``) for audit.

Raising ``--max-examples`` (a few hundred per operation) makes ``ignored_auth`` and
``negative_data_rejection`` fail at ``/oauth/revoke``: schemathesis drops the Basic header
but its semantic draws fill the body's ``client_id`` / ``client_secret`` with a real
client's (from ``POST /v1/clients``), and that is client_secret_post, which the server
rightly accepts (200) and OpenAPI cannot express as a security scheme. Not a defect; the
same request without those fields is 401 ``invalid_client``.

A second test feeds schemathesis a document with one documented status removed and
expects it to fail: the check has teeth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.identity.clients import GRANT_TYPES
from tests.e2e.conftest import upstream_env
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.oauth_util import ADMIN, call
from tests.services.seaweedfs import SeaweedFS

EXCLUDED = "positive_data_acceptance,use_after_free"


@pytest.fixture(scope="module")
def openapi_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "gw-openapi")


@pytest.fixture(scope="module")
def openapi_seaweedfs_gateway(
    tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS
) -> Iterator[Gateway]:
    """The s3 backend in front of SeaweedFS, its buckets under a prefix of their own: the
    stateful phase deletes what it lists, and must not meet other tests' buckets."""
    env = upstream_env(seaweedfs.endpoint_url, seaweedfs.access_key, seaweedfs.secret_key)
    env["NFYIO_UPSTREAM_NATIVE_CHECKSUMS"] = "true"
    env["NFYIO_UPSTREAM_BUCKET_PREFIX"] = "st-"
    yield from own_gateway(tmp_path_factory, "gw-openapi-seaweedfs", extra_env=env)


@pytest.fixture(scope="module")
def st_config(openapi_gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _st_config(openapi_gateway, tmp_path_factory)


def _st_config(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Credentials per security scheme: the root key, and a client allowed every grant."""
    reply = call(
        f"{gateway.api_url}/v1/clients",
        "POST",
        body={"name": "schemathesis", "grant_types": list(GRANT_TYPES), "scopes": ["admin"]},
        headers=ADMIN,
    )
    assert reply.status == 201, reply.body
    client = reply.json()
    config = Path(tmp_path_factory.mktemp("st")) / "schemathesis.toml"
    config.write_text(
        f"""
[auth.openapi.bearerAuth]
bearer = "{ROOT_SECRET}"

[auth.openapi.clientBasic]
username = "{client["client_id"]}"
password = "{client["client_secret"]}"
"""
    )
    return config


def schemathesis(
    location: str, base_url: str, config: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st),
            "--config-file",
            str(config),
            "run",
            location,
            "--url",
            base_url,
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED,
            "--max-examples",
            # 25 per operation: the coverage phase sends every documented edge case
            # whatever this says; more random examples cost CI minutes (40 took the
            # longest test of the suite, ~100 s idle, 174 s under load)
            "25",
            "--seed",
            "20240601",
            "--no-color",
            "--workers",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        # About 50 s on an idle 2-core machine; a bound, not a speed check, so it must
        # leave room for a loaded one (the full suite runs two workers beside it).
        timeout=300,
        check=False,
    )


def test_live_server_matches_its_openapi_document(
    openapi_gateway: Gateway, st_config: Path
) -> None:
    _check_live_server(openapi_gateway, st_config)


def test_live_server_matches_its_openapi_document_through_seaweedfs(
    openapi_seaweedfs_gateway: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same through the s3 backend: what the store refuses reaches the client as a
    documented 4xx, never a 500 (a key SeaweedFS finds too long once did)."""
    config = _st_config(openapi_seaweedfs_gateway, tmp_path_factory)
    _check_live_server(openapi_seaweedfs_gateway, config)


def _check_live_server(gateway: Gateway, config: Path) -> None:
    url = f"{gateway.api_url}/v1/openapi.json"
    result = schemathesis(url, gateway.api_url, config)
    output = result.stdout
    start = max(output.find("ERRORS"), output.find("FAILURES"), 0)
    assert result.returncode == 0, output[start : start + 8000] + result.stderr[-2000:]
    assert "No issues found" in output or _only_tolerated_warnings(output), output[-3000:]
    log = gateway.log()  # no generated request put a secret in the log
    assert ROOT_SECRET not in log and "sk_" not in log


_TOLERATED_WARNINGS = {
    # Schemathesis' heuristic that the token endpoint refused most generated requests.
    # That is the endpoint's job: generated usernames, passwords and refresh tokens are
    # wrong (400 invalid_grant), and after five failures the throttle answers 429 (how
    # many depends on timing, so the warning comes and goes).
    "Schema validation mismatch": {"POST /oauth/token"},
    # Its heuristic that generated names of buckets to delete were unknown (404, as the
    # document says): about its test data, not a disagreement; comes and goes with what
    # the stateful phase created first.
    "Missing test data": {"DELETE /v1/buckets/{name}"},
}


def _only_tolerated_warnings(output: str) -> bool:
    """Every check passed, and each warning is one of ``_TOLERATED_WARNINGS`` for the
    operations named there. Any other warning, or one of these for another operation,
    still fails."""
    if "WARNINGS" not in output or "SUMMARY" not in output:
        return False
    warnings = output[output.index("WARNINGS") : output.index("SUMMARY")]
    kind: str | None = None
    for raw in warnings.splitlines()[1:]:
        line = raw.strip()
        if not line or line.startswith(("=", "💡")):
            continue
        if line.startswith("- "):
            if kind is None or line[2:] not in _TOLERATED_WARNINGS[kind]:
                return False
            continue
        kind = next((k for k in _TOLERATED_WARNINGS if line.startswith(k)), None)
        if kind is None:
            return False
    return True


def test_schemathesis_fails_when_document_and_server_disagree(
    openapi_gateway: Gateway, st_config: Path, tmp_path: Path
) -> None:
    with urllib.request.urlopen(f"{openapi_gateway.api_url}/v1/openapi.json") as response:
        document = json.load(response)
    # Forget that an unknown key answers 404.
    del document["paths"]["/v1/access-keys/{key_id}"]["get"]["responses"]["404"]
    schema = tmp_path / "wrong.json"
    schema.write_text(json.dumps(document))
    result = schemathesis(
        str(schema), openapi_gateway.api_url, st_config, "--include-operation-id", "getAccessKey"
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "Undocumented HTTP status code" in result.stdout or "404" in result.stdout
