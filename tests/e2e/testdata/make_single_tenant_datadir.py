"""Writes ``single-tenant/``: the data directory of a single-tenant gateway, made before
accounts existed (state-store schema 3, filesystem backend).

Kept for the record: it was run once with the gateway of commit ``7a4158c`` (before
accounts) and its output is checked in, so ``tests/e2e/test_accounts_upgrade.py`` starts
the current gateway on bytes the old one wrote. Running it with newer code would write a
newer schema. What it made is in ``single-tenant.json`` (credentials of test data only).

    python tests/e2e/testdata/make_single_tenant_datadir.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.e2e.gateway_process import start_gateway  # noqa: E402
from tests.e2e.rest_util import api_json  # noqa: E402

HERE = Path(__file__).resolve().parent
BUCKET = "legacy-bucket"
OBJECTS = {"hello.txt": b"made before accounts\n", "dir/nested.bin": bytes(range(256))}


def main() -> None:
    target = HERE / "single-tenant"
    shutil.rmtree(target, ignore_errors=True)
    gateway = start_gateway(target)
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket=BUCKET)
        for key, data in OBJECTS.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        s3.create_multipart_upload(Bucket=BUCKET, Key="pending-upload")
        key = api_json(
            gateway,
            "POST",
            "/v1/access-keys",
            body={"name": "legacy reader", "scopes": ["read:objects", "read:buckets"]},
            expect=201,
        )
        user = api_json(
            gateway,
            "POST",
            "/v1/users",
            body={"username": "legacy-user", "password": "legacy-password", "scopes": ["admin"]},
            expect=201,
        )
        client = api_json(
            gateway,
            "POST",
            "/v1/clients",
            body={
                "name": "legacy client",
                "grant_types": ["password", "refresh_token", "client_credentials"],
                "scopes": ["admin"],
            },
            expect=201,
        )
    finally:
        gateway.stop()
    for leftover in target.parent.glob("single-tenant-gateway.log"):
        leftover.unlink()
    shutil.rmtree(target / "run", ignore_errors=True)
    facts = {
        "bucket": BUCKET,
        "objects": {k: v.hex() for k, v in OBJECTS.items()},
        "pending_upload_key": "pending-upload",
        "key": {"id": key["id"], "secret": key["secret"]},
        "user": {"id": user["id"], "username": "legacy-user", "password": "legacy-password"},
        "client": {"id": client["client_id"], "secret": client["client_secret"]},
    }
    (HERE / "single-tenant.json").write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    main()
