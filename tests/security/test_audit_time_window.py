"""Class: an audit query whose time window holds no instant is refused, not answered empty.

``GET /v1/audit-events?since=2030-...&until=2020-...`` (bounds swapped) and
``since == until`` (``until`` is exclusive) answered 200 with no events, and
``nfyio-gateway audit export`` wrote an empty file: an investigator reads "nothing
happened". Now 400 ``ValidationError`` naming ``until`` (exit status 2 on the command
line, before ``--output`` is truncated), as CloudTrail's LookupEvents answers
``InvalidTimeRangeException``. Real gateway process and the real command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.gateway_process import Gateway

LATER = "2030-01-01T00:00:00Z"
EARLIER = "2020-01-01T00:00:00Z"
EMPTY = [
    pytest.param(LATER, EARLIER, id="swapped"),
    pytest.param(LATER, LATER, id="equal"),
    pytest.param("2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00Z", id="equal-by-offset"),
]


def _events(gateway: Gateway, **query: str) -> requests.Response:
    return requests.get(
        f"{gateway.api_url}/v1/audit-events",
        params=query,
        headers={"Authorization": f"Bearer {gateway.secret_key}"},
        timeout=30,
    )


@pytest.mark.parametrize(("since", "until"), EMPTY)
def test_an_empty_window_is_refused(gateway: Gateway, since: str, until: str) -> None:
    reply = _events(gateway, since=since, until=until)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("ValidationError", "until")


def test_a_window_of_one_microsecond_is_answered(gateway: Gateway) -> None:
    reply = _events(gateway, since="2030-01-01T00:00:00Z", until="2030-01-01T00:00:00.000001Z")
    assert reply.status_code == 200, reply.text
    assert reply.json()["events"] == []
    assert _events(gateway, since=EARLIER, until=LATER).json()["events"]


@pytest.mark.parametrize(("since", "until"), EMPTY)
def test_the_export_refuses_an_empty_window_before_truncating(
    gateway: Gateway, tmp_path: Path, since: str, until: str
) -> None:
    output = tmp_path / "earlier-export.jsonl"
    output.write_text("kept\n")
    command = [sys.executable, "-m", "gateway.cli", "audit", "export"]
    command += ["--data-dir", str(gateway.data_dir), "--since", since, "--until", until]
    done = subprocess.run(
        [*command, "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(gateway.env),
        cwd=gateway.data_dir.parent,
    )
    assert done.returncode == 2, done.stderr
    assert "--until" in done.stderr
    assert output.read_text() == "kept\n"
