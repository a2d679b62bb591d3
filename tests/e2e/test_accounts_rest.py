"""Accounts on the REST API and OAuth endpoints of a real gateway (plain HTTP): only the
root key manages accounts, an account's admin manages that account only, and no path
reaches another account's keys, users, clients or buckets."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
import pytest

from gateway.principal import SYSTEM_ACCOUNT_ID, SYSTEM_CANONICAL_ID
from tests.e2e.gateway_process import ROOT_KEY, Gateway
from tests.e2e.oauth_util import basic, honouring_slow_down
from tests.e2e.oauth_util import call as oauth_call
from tests.e2e.rest_util import ADMIN, api_json, bearer, call
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import Tenant, new_tenant


@pytest.fixture
def alice(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "alice")


@pytest.fixture
def bob(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "bob")


def status_of(
    gateway: Gateway, method: str, path: str, headers: dict[str, str], body: Any = None
) -> int:
    status, _, _ = call(gateway, method, path, headers=headers, body=body)
    return status


def test_create_list_show_delete_accounts(gateway: Gateway) -> None:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    made = api_json(
        gateway,
        "POST",
        "/v1/accounts",
        body={"name": name, "email": f"{name}@example.com"},
        expect=201,
    )
    assert made["id"].startswith("acct_") and made["name"] == name
    assert len(made["canonical_id"]) == 64 and made["email"] == f"{name}@example.com"
    key = made["admin_key"]
    assert key["scopes"] == ["admin"] and key["secret"].startswith("sk_")
    assert key["account_id"] == made["id"]
    me = api_json(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))
    assert me["account"]["id"] == made["id"]
    assert me["account"]["canonical_id"] == made["canonical_id"]
    assert me["root"] is False
    listed: list[str] = []
    cursor = None
    while True:
        page = api_json(
            gateway, "GET", "/v1/accounts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        )
        listed += [a["id"] for a in page["accounts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert made["id"] in listed and SYSTEM_ACCOUNT_ID in listed
    assert api_json(gateway, "GET", f"/v1/accounts/{made['id']}")["name"] == name
    # The e-mail is unique (it names the account in ACL grants).
    status, _, _ = call(
        gateway,
        "POST",
        "/v1/accounts",
        headers=ADMIN,
        body={"name": unique("x"), "email": made["email"].upper()},
    )
    assert status == 409
    # So is the name (an operator tells accounts apart by it; a retried create must not
    # make a second tenant), compared case-insensitively.
    status, _, raw = call(
        gateway, "POST", "/v1/accounts", headers=ADMIN, body={"name": name.upper()}
    )
    assert status == 409 and json.loads(raw)["error"]["details"] == {"field": "name"}, raw
    # An account owning a bucket cannot be deleted; once it owns none, it can.
    s3 = gateway.client(key["id"], key["secret"])
    bucket = unique("acct")
    s3.create_bucket(Bucket=bucket)
    status, _, body = call(gateway, "DELETE", f"/v1/accounts/{made['id']}", headers=ADMIN)
    assert status == 409 and bucket.encode() in body
    s3.delete_bucket(Bucket=bucket)
    api_json(gateway, "DELETE", f"/v1/accounts/{made['id']}", expect=204)
    assert status_of(gateway, "GET", "/v1/me", bearer(key["secret"])) == 401
    expect_error("InvalidAccessKeyId", 403, s3.list_buckets)
    assert status_of(gateway, "GET", f"/v1/accounts/{made['id']}", ADMIN) == 404
    status, _, _ = call(gateway, "DELETE", f"/v1/accounts/{SYSTEM_ACCOUNT_ID}", headers=ADMIN)
    assert status == 409


def test_only_the_root_key_manages_accounts(gateway: Gateway, alice: Tenant) -> None:
    system_admin = api_json(
        gateway, "POST", "/v1/access-keys", body={"name": "sys", "scopes": ["admin"]}, expect=201
    )
    for headers in (alice.headers, bearer(system_admin["secret"])):
        for method, path, body in (
            ("POST", "/v1/accounts", {"name": "sneaky"}),
            ("GET", "/v1/accounts", None),
            ("GET", f"/v1/accounts/{alice.id}", None),
            ("DELETE", f"/v1/accounts/{alice.id}", None),
        ):
            status, _, raw = call(gateway, method, path, headers=headers, body=body)
            assert status == 403 and b"RootRequired" in raw, (method, path)


def test_root_me_shows_the_system_account(gateway: Gateway) -> None:
    me = api_json(gateway, "GET", "/v1/me")
    assert me["key_id"] == ROOT_KEY and me["root"] is True
    assert me["account"] == {
        "id": SYSTEM_ACCOUNT_ID,
        "name": "system",
        "canonical_id": SYSTEM_CANONICAL_ID,
        "display_name": "nfyio",
    }


def test_keys_of_another_account_are_invisible(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    bobs = bob.key(scopes=["read:objects"])
    alices = alice.key(scopes=["read:objects"])
    listed = api_json(gateway, "GET", "/v1/access-keys", headers=alice.headers)["access_keys"]
    ids = {k["id"] for k in listed}
    assert alices["id"] in ids and alice.key_id in ids
    assert bobs["id"] not in ids and bob.key_id not in ids and ROOT_KEY not in ids
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/rotate")):
        for victim in (bobs["id"], ROOT_KEY):
            path = f"/v1/access-keys/{victim}{suffix}"
            assert status_of(gateway, method, path, alice.headers) == 404, (method, path)
    # Nothing happened to bob's key.
    assert (
        api_json(gateway, "GET", f"/v1/access-keys/{bobs['id']}", headers=bob.headers)["status"]
        == "active"
    )
    # The root key (system account's admin) does not see into accounts either.
    root_view = api_json(gateway, "GET", "/v1/access-keys?limit=1000")["access_keys"]
    assert bobs["id"] not in {k["id"] for k in root_view}
    assert status_of(gateway, "DELETE", f"/v1/access-keys/{bobs['id']}", ADMIN) == 404


def test_users_and_clients_of_another_account_are_invisible(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    username = f"bob-user-{uuid.uuid4().hex[:8]}"
    user = api_json(
        gateway,
        "POST",
        "/v1/users",
        headers=bob.headers,
        body={"username": username, "password": "bob-password-1", "scopes": ["admin"]},
        expect=201,
    )
    assert user["account_id"] == bob.id
    client = api_json(
        gateway,
        "POST",
        "/v1/clients",
        headers=bob.headers,
        body={"name": "bob app", "scopes": ["admin"]},
        expect=201,
    )
    assert client["account_id"] == bob.id
    users = api_json(gateway, "GET", "/v1/users?limit=1000", headers=alice.headers)["users"]
    clients = api_json(gateway, "GET", "/v1/clients?limit=1000", headers=alice.headers)["clients"]
    assert user["id"] not in {u["id"] for u in users}
    assert client["client_id"] not in {c["client_id"] for c in clients}
    for method, path, body in (
        ("GET", f"/v1/users/{user['id']}", None),
        ("PATCH", f"/v1/users/{user['id']}", {"disabled": True}),
        ("PATCH", f"/v1/users/{user['id']}", {"password": "hijacked-password"}),
        ("DELETE", f"/v1/users/{user['id']}", None),
        ("GET", f"/v1/clients/{client['client_id']}", None),
        ("DELETE", f"/v1/clients/{client['client_id']}", None),
    ):
        for headers in (alice.headers, ADMIN):
            assert status_of(gateway, method, path, headers, body) == 404, (method, path)
    got = api_json(gateway, "GET", f"/v1/users/{user['id']}", headers=bob.headers)
    assert got["disabled"] is False
    # A client logs in only the users of its own account: alice's client with bob's user
    # is a wrong login, bob's own client works and its token carries bob's account.
    alice_client = api_json(
        gateway,
        "POST",
        "/v1/clients",
        headers=alice.headers,
        body={"name": "alice app", "scopes": ["admin"]},
        expect=201,
    )
    # Both through the password throttle, whose address bucket the failed logins of every
    # test on this gateway fill (the refused one below among them): a block is waited out.
    login = {"grant_type": "password", "username": username, "password": "bob-password-1"}

    def sign_in(app: dict[str, Any]) -> Any:
        return honouring_slow_down(
            lambda: oauth_call(
                f"{gateway.api_url}/oauth/token",
                "POST",
                form=login,
                headers=basic(app["client_id"], app["client_secret"]),
            )
        )

    refused = sign_in(alice_client)
    assert refused.status == 400 and refused.json()["error"] == "invalid_grant"
    granted = sign_in(client)
    assert granted.status == 200, granted.body
    token = granted.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["account"] == bob.id
    me = api_json(gateway, "GET", "/v1/me", headers=bearer(token))
    assert me["kind"] == "user" and me["account"]["id"] == bob.id
    # The user's token is an admin of bob's account only.
    assert status_of(gateway, "GET", f"/v1/users/{user['id']}", bearer(token)) == 200
    assert (
        status_of(gateway, "GET", f"/v1/clients/{alice_client['client_id']}", bearer(token)) == 404
    )


def test_client_credentials_tokens_act_for_the_clients_account(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    bucket = unique("cc")
    alice.client().create_bucket(Bucket=bucket)
    alice.client().put_object(Bucket=bucket, Key="k", Body=b"alice")
    client = api_json(
        gateway,
        "POST",
        "/v1/clients",
        headers=bob.headers,
        body={"name": "svc", "grant_types": ["client_credentials"], "scopes": ["admin"]},
        expect=201,
    )
    reply = oauth_call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": "client_credentials"},
        headers=basic(client["client_id"], client["client_secret"]),
    )
    assert reply.status == 200, reply.body
    token = reply.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["account"] == bob.id
    status, _, _ = call(gateway, "GET", f"{gateway.s3_url}/{bucket}/k", headers=bearer(token))
    assert status == 403
    status, _, body = call(gateway, "GET", f"{gateway.s3_url}/", headers=bearer(token))
    assert status == 200 and bucket.encode() not in body


def test_buckets_api_is_per_account(gateway: Gateway, alice: Tenant, bob: Tenant) -> None:
    name = unique("rest")
    api_json(gateway, "POST", "/v1/buckets", headers=alice.headers, body={"name": name}, expect=201)
    mine = api_json(gateway, "GET", "/v1/buckets", headers=alice.headers)["buckets"]
    assert [b["name"] for b in mine] == [name]
    theirs = api_json(gateway, "GET", "/v1/buckets?stats=true&limit=1000", headers=bob.headers)
    theirs = theirs["buckets"]
    assert name not in [b["name"] for b in theirs]
    listed = api_json(gateway, "GET", "/v1/buckets?limit=1000")["buckets"]
    assert name not in [b["name"] for b in listed]
    status, _, _ = call(gateway, "POST", "/v1/buckets", headers=bob.headers, body={"name": name})
    assert status == 409
    assert status_of(gateway, "DELETE", f"/v1/buckets/{name}", bob.headers) == 403
    assert status_of(gateway, "DELETE", f"/v1/buckets/{name}", ADMIN) == 403
    # Made through REST, the bucket is alice's on the S3 listener too.
    assert alice.client().get_bucket_acl(Bucket=name)["Owner"]["ID"] == alice.canonical_id
    expect_error("AccessDenied", 403, bob.client().list_objects_v2, Bucket=name)
    api_json(gateway, "DELETE", f"/v1/buckets/{name}", headers=alice.headers, expect=204)


def test_an_account_name_of_the_longest_length_gets_its_admin_key(gateway: Gateway) -> None:
    """An account's first admin key is named ``<account name> admin``; a name of 123 to
    128 characters (valid for an account) made a key name past the 128 a key name may
    hold, and the creation failed with a 500. The account's name is cut to fit."""
    name = f"long-{uuid.uuid4().hex}".ljust(128, "n")
    made = api_json(gateway, "POST", "/v1/accounts", body={"name": name}, expect=201)
    assert made["name"] == name
    key_name = made["admin_key"]["name"]
    assert len(key_name) == 128 and key_name == f"{name[:122]} admin"
