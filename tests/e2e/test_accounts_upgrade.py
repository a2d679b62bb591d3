"""A single-tenant install upgrades into the system account and sees no change.

Starts today's gateway on a copy of ``testdata/single-tenant``, a data directory the
gateway wrote before accounts existed (``testdata/make_single_tenant_datadir.py``): its
bucket, objects, pending upload, access key, user and OAuth client keep working as they
did, report the owner they reported, and a new account reaches none of them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.principal import SYSTEM_ACCOUNT_ID, SYSTEM_CANONICAL_ID
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import basic
from tests.e2e.oauth_util import call as oauth_call
from tests.e2e.rest_util import api_json, bearer
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import new_tenant

TESTDATA = Path(__file__).resolve().parent / "testdata"
FACTS: dict[str, Any] = json.loads((TESTDATA / "single-tenant.json").read_text())


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data = Path(tmp_path_factory.mktemp("upgrade")) / "data"
    shutil.copytree(TESTDATA / "single-tenant", data)
    (data / "master.key").chmod(0o600)  # git keeps no permission bits but the x bit
    running = start_gateway(data)
    yield running
    running.stop()


def test_buckets_and_objects_are_the_system_accounts(upgraded: Gateway) -> None:
    s3 = upgraded.client()
    listed = s3.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == [FACTS["bucket"]]
    assert listed["Owner"] == {"ID": SYSTEM_CANONICAL_ID, "DisplayName": "nfyio"}
    bucket = FACTS["bucket"]
    for key, data in FACTS["objects"].items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == bytes.fromhex(data)
    page = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)
    assert {o["Owner"]["ID"] for o in page["Contents"]} == {SYSTEM_CANONICAL_ID}
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"]["ID"] == SYSTEM_CANONICAL_ID
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["Key"] for u in uploads] == [FACTS["pending_upload_key"]]
    assert uploads[0]["Initiator"]["ID"] == SYSTEM_CANONICAL_ID


def test_old_key_user_and_client_keep_working(upgraded: Gateway) -> None:
    key = FACTS["key"]
    s3 = upgraded.client(key["id"], key["secret"])
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [FACTS["bucket"]]
    me = api_json(upgraded, "GET", "/v1/me", headers=bearer(key["secret"]))
    assert me["account"]["id"] == SYSTEM_ACCOUNT_ID and me["key_id"] == key["id"]
    user, client = FACTS["user"], FACTS["client"]
    reply = oauth_call(
        f"{upgraded.api_url}/oauth/token",
        "POST",
        form={
            "grant_type": "password",
            "username": user["username"],
            "password": user["password"],
        },
        headers=basic(client["id"], client["secret"]),
    )
    assert reply.status == 200, reply.body
    token = reply.json()["access_token"]
    me = api_json(upgraded, "GET", "/v1/me", headers=bearer(token))
    assert me["subject"] == user["id"] and me["account"]["id"] == SYSTEM_ACCOUNT_ID
    users = api_json(upgraded, "GET", "/v1/users")["users"]
    assert [u["id"] for u in users] == [user["id"]]
    assert users[0]["account_id"] == SYSTEM_ACCOUNT_ID


def test_a_new_account_reaches_nothing_of_the_old_install(upgraded: Gateway) -> None:
    tenant = new_tenant(upgraded, "newcomer")
    s3 = tenant.client()
    assert s3.list_buckets()["Buckets"] == []
    bucket = FACTS["bucket"]
    expect_error("AccessDenied", 403, s3.list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="hello.txt")
    expect_error("BucketAlreadyExists", 409, s3.create_bucket, Bucket=bucket)
    keys = api_json(upgraded, "GET", "/v1/access-keys", headers=tenant.headers)["access_keys"]
    assert [k["id"] for k in keys] == [tenant.key_id]
    assert api_json(upgraded, "GET", "/v1/users", headers=tenant.headers)["users"] == []
