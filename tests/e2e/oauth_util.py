"""HTTP helpers for the OAuth end-to-end tests (urllib: no client library in between)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.gateway_process import ROOT_SECRET, Gateway

ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str,
    method: str = "GET",
    *,
    body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_form: str | None = None,
) -> Reply:
    h = dict(headers or {})
    data = None
    if raw_form is not None:
        data = raw_form.encode()
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 2.3.1: each part form-encoded, then Basic."""
    raw = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


_LOGIN_ATTEMPTS = 5


def honouring_slow_down(send: Callable[[], Reply]) -> Reply:
    """``send()`` (a password grant), sent again after each ``429 slow_down`` once its
    Retry-After has passed, at most ``_LOGIN_ATTEMPTS`` times. Failed logins of other
    tests count against 127.0.0.1 (the throttle's address bucket, shared by every test of
    a gateway): a blocked attempt is refused before its password is checked, and a client
    honours the block before trying again. The answer is that of the first attempt the
    throttle let through."""
    for _ in range(_LOGIN_ATTEMPTS):
        reply = send()
        if reply.status != 429 or reply.json().get("error") != "slow_down":
            break
        time.sleep(float(reply.headers.get("Retry-After", "1")))
    return reply


@dataclass
class Setup:
    gateway: Gateway
    username: str
    password: str
    user_id: str
    client_id: str
    client_secret: str

    def token(self, **form: str) -> Reply:
        return call(f"{self.gateway.api_url}/oauth/token", "POST", form=form)

    def post(self, endpoint: str, raw_form: str, *, content_type: str | None = None) -> Reply:
        """``raw_form`` (form-encoded already, sent byte for byte) POSTed to ``endpoint``
        (``/oauth/token``, ...), as ``application/x-www-form-urlencoded`` unless
        ``content_type`` says otherwise."""
        headers = {} if content_type is None else {"Content-Type": content_type}
        url = f"{self.gateway.api_url}{endpoint}"
        return call(url, "POST", raw_form=raw_form, headers=headers)

    def login(self, **extra: str) -> dict[str, Any]:
        reply = honouring_slow_down(
            lambda: self.token(
                grant_type="password",
                username=self.username,
                password=self.password,
                client_id=self.client_id,
                client_secret=self.client_secret,
                **extra,
            )
        )
        assert reply.status == 200, reply.body
        result: dict[str, Any] = reply.json()
        return result

    def creds(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}


def make_setup(
    gateway: Gateway,
    *,
    user_scopes: list[str] | None = None,
    client_scopes: list[str] | None = None,
    grant_types: list[str] | None = None,
) -> Setup:
    api = gateway.api_url
    username = f"user-{uuid.uuid4().hex[:10]}"
    password = "correct horse battery staple"
    user = call(
        f"{api}/v1/users",
        "POST",
        body={
            "username": username,
            "password": password,
            "scopes": user_scopes or ["read:buckets", "read:objects", "write:objects"],
        },
        headers=ADMIN,
    )
    assert user.status == 201, user.body
    client_body: dict[str, Any] = {
        "name": "e2e app",
        "scopes": client_scopes or ["read:buckets", "read:objects", "write:objects"],
    }
    if grant_types is not None:
        client_body["grant_types"] = grant_types
    client = call(f"{api}/v1/clients", "POST", body=client_body, headers=ADMIN)
    assert client.status == 201, client.body
    return Setup(
        gateway,
        username,
        password,
        user.json()["id"],
        client.json()["client_id"],
        client.json()["client_secret"],
    )
