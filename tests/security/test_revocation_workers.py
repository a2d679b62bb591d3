"""A credential change applies to the next request on every worker process.

Each worker keeps its key lookups cached, reused only while the identity database's
change marker stands (``backends.sqlite_wal.CommitWatch``: the WAL-index header every
commit rewrites). A marker that missed a commit would let a revoked key, or a rotated
secret, go on working on the workers that had it cached. Here the key is used on fresh
connections first (the kernel spreads them over both workers: ``SO_REUSEPORT``), so
each worker has it cached, then changed through the REST API (served by one worker),
then used again on fresh connections: every one of them must be refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fresh_connections import answers, two_worker_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import api_json, call, make_key


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with two_worker_gateway(tmp_path_factory.mktemp("revocation") / "data") as gw:
        yield gw


def _list_buckets(s3: Any) -> str:
    s3.list_buckets()
    return "ok"


def _outcomes(gw: Gateway, key_id: str, secret: str) -> set[object]:
    """``ListBuckets`` on new connections: "ok" or the S3 error code."""
    return answers(gw, _list_buckets, key_id, secret)


def test_a_revoked_key_is_refused_by_every_worker_at_once(two_workers: Gateway) -> None:
    gw = two_workers
    key = make_key(gw, scopes=["read:buckets"])
    assert _outcomes(gw, key["id"], key["secret"]) == {"ok"}  # cached by both workers
    status, _, body = call(gw, "DELETE", f"/v1/access-keys/{key['id']}", headers=None)
    assert status == 401, body  # the API needs a credential: the check is real
    api_json(gw, "DELETE", f"/v1/access-keys/{key['id']}", expect=204)
    assert _outcomes(gw, key["id"], key["secret"]) == {"InvalidAccessKeyId"}


def test_a_rotated_secret_is_refused_by_every_worker_at_once(two_workers: Gateway) -> None:
    gw = two_workers
    key = make_key(gw, scopes=["read:buckets"])
    assert _outcomes(gw, key["id"], key["secret"]) == {"ok"}
    rotated = api_json(gw, "POST", f"/v1/access-keys/{key['id']}/rotate", body={})
    assert rotated["id"] == key["id"] and rotated["secret"] != key["secret"]
    assert _outcomes(gw, key["id"], key["secret"]) == {"SignatureDoesNotMatch"}
    assert _outcomes(gw, key["id"], rotated["secret"]) == {"ok"}
