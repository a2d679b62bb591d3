"""A console session cookie planted by another page on the same host is never resumed.

Cookies ignore ports. An HTML object the S3 listener serves inline (a presigned link the
attacker sends, a public bucket) runs on ``http://host:<s3 port>`` and may set
``nfyio_console_refresh`` for ``/console/session``: the console on ``host:<api port>``
then sent it on its next load and resumed the attacker's session, so the victim worked
(uploaded files, created keys) in the attacker's account, and with a longer ``Path`` the
planted cookie could shadow the victim's own. The page now names its session (kept in its
origin's storage, which no other port can write) and the gateway honours only that
session's cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from gateway.console.session import COOKIE, CSRF_HEADER, SESSION_HEADER
from tests.e2e.console_browser import PASSWORD, launch_chromium, make_user, new_tab
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import Reply, call


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


def _sign_in(gateway: Gateway, username: str) -> tuple[str, str]:
    """(the session's id, its refresh token), as the console's script gets them."""
    reply = call(
        f"{gateway.api_url}/console/session",
        "POST",
        body={"username": username, "password": PASSWORD},
        headers={"Origin": gateway.api_url, CSRF_HEADER: "3"},
    )
    assert reply.status == 200, reply.body
    cookie = reply.headers["Set-Cookie"].split(";", 1)[0]
    name, _, token = cookie.partition("=")
    assert name == COOKIE
    session_id: str = reply.json()["session_id"]
    return session_id, token


def _refresh(gateway: Gateway, cookie: str, session_id: str | None) -> Reply:
    headers = {"Origin": gateway.api_url, CSRF_HEADER: "3", "Cookie": cookie}
    if session_id is not None:
        headers[SESSION_HEADER] = session_id
    return call(f"{gateway.api_url}/console/session/refresh", "POST", headers=headers)


def test_a_cookie_planted_from_the_s3_listener_is_not_resumed(
    gateway: Gateway, s3: Any, bucket: str, chromium: Browser
) -> None:
    attacker = make_user(gateway)
    _, planted = _sign_in(gateway, attacker)
    page_html = (
        "<!doctype html><title>hostile</title><script>"
        f'document.cookie = "{COOKIE}={planted}; Path=/console/session; Secure;'
        ' SameSite=Strict; Max-Age=3600"; document.title = "planted";</script>'
    )
    s3.put_object(Bucket=bucket, Key="page.html", Body=page_html.encode(), ContentType="text/html")
    link = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "page.html"})
    tab = new_tab(chromium)
    try:
        page = tab.page
        page.goto(link)
        expect(page).to_have_title("planted")
        planted_cookies = [c for c in tab.context.cookies() if c["name"] == COOKIE]
        assert [c["value"] for c in planted_cookies] == [planted]  # the browser kept it
        page.goto(f"{gateway.api_url}/console")
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        assert attacker not in page.locator("#whoami").inner_text()
        assert [c for c in tab.context.cookies() if c["name"] == COOKIE] == []  # cleared
    finally:
        tab.close()


def test_only_the_named_sessions_cookie_is_honoured(gateway: Gateway) -> None:
    victim = make_user(gateway)
    victim_session, victim_token = _sign_in(gateway, victim)
    planted_session, planted = _sign_in(gateway, make_user(gateway))
    # No name (a fresh page), or another session's: refused, the cookie cleared.
    for named in (None, victim_session):
        refused = _refresh(gateway, f"{COOKIE}={planted}", named)
        assert refused.status == 401, refused.body
        assert refused.json()["error"]["code"] == "NoSession"
        assert f"{COOKIE}=;" in refused.headers["Set-Cookie"].replace('""', "")
    # A planted cookie with a longer Path is sent first; the victim's own is the one used.
    renewed = _refresh(gateway, f"{COOKIE}={planted}; {COOKIE}={victim_token}", victim_session)
    assert renewed.status == 200, renewed.body
    assert renewed.json()["session_id"] == victim_session
    me = call(
        f"{gateway.api_url}/v1/me",
        headers={"Authorization": f"Bearer {renewed.json()['access_token']}"},
    )
    assert me.status == 200 and me.json()["name"] == victim, me.body
    # Refusing it presented nothing: the planted token was not spent (no reuse).
    owner = _refresh(gateway, f"{COOKIE}={planted}", planted_session)
    assert owner.status == 200, owner.body


def test_the_pages_cookie_behind_many_planted_ones_is_found(gateway: Gateway) -> None:
    """A page on this host can plant a cookie per Domain/Path variant (and nameless ones),
    all sent before the page's own: every well-formed one a Cookie field can hold is
    looked at, so the page's session is not signed out by them."""
    victim_session, victim_token = _sign_in(gateway, make_user(gateway))
    _, planted = _sign_in(gateway, make_user(gateway))
    shadows = [planted] + [f"rt_{index:040d}" for index in range(11)] + ["junk", planted]
    cookie = "; ".join(f"{COOKIE}={value}" for value in [*shadows, victim_token])
    renewed = _refresh(gateway, cookie, victim_session)
    assert renewed.status == 200, renewed.body
    assert renewed.json()["session_id"] == victim_session


def test_sign_out_revokes_the_session_of_a_page_that_names_none(gateway: Gateway) -> None:
    """A page whose storage is switched off (or an older script) names no session: its
    sign-out still ends the session whose cookie it sent, access tokens included."""
    reply = call(
        f"{gateway.api_url}/console/session",
        "POST",
        body={"username": make_user(gateway), "password": PASSWORD},
        headers={"Origin": gateway.api_url, CSRF_HEADER: "3"},
    )
    assert reply.status == 200, reply.body
    session_id, access = reply.json()["session_id"], reply.json()["access_token"]
    cookie = reply.headers["Set-Cookie"].split(";", 1)[0]
    out = call(
        f"{gateway.api_url}/console/session",
        "DELETE",
        headers={"Origin": gateway.api_url, CSRF_HEADER: "3", "Cookie": cookie},
    )
    assert out.status == 204, out.body
    me = call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status == 401, me.body
    refused = _refresh(gateway, cookie, session_id)
    assert refused.status == 401, refused.body
    assert refused.json()["error"]["code"] == "NoSession"
