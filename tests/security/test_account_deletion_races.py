"""Class: an account deleted while one of its keys creates a bucket leaves the bucket to
nobody.

``DELETE /v1/accounts/{id}`` checked that the account owned no bucket and then, in a
separate transaction, deleted it; a CreateBucket by one of its keys (accepted a moment
before the keys were revoked) claimed the name in between, and the bucket was left owned
by an account that no longer exists: nobody could use, empty or delete it, and the name
was lost. The deletion now checks for owned buckets in the transaction that deletes the
account, and a bucket's claim checks that its account exists in the transaction that
records it (``gateway/identity/accounts.py``, ``gateway/identity/bucket_settings.py``):
one of the two comes first, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, call
from tests.e2e.tenants import new_tenant

ROUNDS = 10
CREATORS = 6


def _race(gateway: Gateway) -> tuple[int, dict[str, str]]:
    """One account's deletion and ``CREATORS`` CreateBuckets by its key, at once: the
    deletion's status and each name's outcome."""
    tenant = new_tenant(gateway, "race")
    clients = [tenant.client() for _ in range(CREATORS)]
    names = [f"race-{uuid.uuid4().hex[:16]}" for _ in range(CREATORS)]
    start = threading.Barrier(CREATORS + 1)
    outcomes: dict[str, str] = {}
    deleted: list[int] = []

    def create(client: Any, name: str) -> None:
        start.wait()
        try:
            client.create_bucket(Bucket=name)
            outcomes[name] = "created"
        except ClientError as exc:
            outcomes[name] = exc.response["Error"]["Code"]

    def delete() -> None:
        start.wait()
        deleted.append(call(gateway, "DELETE", f"/v1/accounts/{tenant.id}", headers=ADMIN)[0])

    threads = [
        threading.Thread(target=create, args=pair) for pair in zip(clients, names, strict=True)
    ]
    threads.append(threading.Thread(target=delete))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return deleted[0], outcomes


@pytest.mark.parametrize("store", ["gateway", "pg_gateway"])
def test_an_account_is_deleted_only_with_no_bucket_left(
    store: str, request: pytest.FixtureRequest
) -> None:
    gateway: Gateway = request.getfixturevalue(store)
    root = gateway.client()
    for _ in range(ROUNDS):
        status, outcomes = _race(gateway)
        assert status in (204, 409), status
        # A creation either came first (it stands, and the deletion was refused) or
        # found the account's key revoked or the account gone.
        refused = {"InvalidAccessKeyId", "AccessDenied"}
        assert set(outcomes.values()) <= {"created"} | refused, outcomes
        created = [name for name, outcome in outcomes.items() if outcome == "created"]
        if status == 204:
            assert created == [], outcomes
        else:
            assert created, outcomes
        for name, outcome in outcomes.items():
            if outcome != "created":  # nothing of a refused creation is left behind
                with pytest.raises(ClientError) as gone:
                    root.head_bucket(Bucket=name)
                assert gone.value.response["Error"]["Code"] == "404", name
