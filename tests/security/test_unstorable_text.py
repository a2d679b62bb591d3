"""Text the state store cannot keep (``UnstorableText``, ``gateway/identity/db.py``).

The class: PostgreSQL refuses NUL in ``text`` (SQLite keeps it), and asyncpg raised
``CharacterNotInRepertoireError`` wherever a client's string with a NUL reached a
statement: an access key id from a presigned URL (unauthenticated), an id in a ``/v1``
path, the ACL row of an object key with a NUL. Each was a 500, and an object written
with an ACL was stored before its row failed. Each is now a 400 on PostgreSQL, refused
before anything changed; on SQLite the same requests keep their answers (no 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import call


@pytest.fixture(scope="module")
def sqlite_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "unstorable-sqlite")


def _presigned_paths() -> list[str]:
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"%2F{now[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
    return [
        "/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=AK%00X{scope}&X-Amz-Date={now}&X-Amz-Expires=60"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64,
        "/?AWSAccessKeyId=AK%00X&Expires=9999999999&Signature=abc",
    ]


REST_PATHS = [
    "/v1/access-keys/ak_%00x",
    "/v1/users/u%00",
    "/v1/clients/cl_%00",
    "/v1/accounts/acct_%00",
]


def test_a_nul_in_a_presigned_access_key_id_is_a_400(pg_gateway: Gateway) -> None:
    """Unauthenticated: the access key id is looked up before any signature check."""
    for path in _presigned_paths():
        reply = call(pg_gateway.s3_url + path)
        assert reply.status == 400, reply.body
        assert b"<Code>InvalidArgument</Code>" in reply.body


def test_a_nul_in_a_rest_path_id_is_a_400(pg_gateway: Gateway) -> None:
    root = {"Authorization": f"Bearer {pg_gateway.secret_key}"}
    for path in REST_PATHS:
        reply = call(pg_gateway.api_url + path, headers=root)
        assert reply.status == 400, (path, reply.body)
        assert reply.json()["error"]["code"] == "InvalidRequest"


def test_a_nul_in_a_listing_filter_is_a_400_about_no_cursor(pg_gateway: Gateway) -> None:
    """``/v1/audit-events?account=`` (the root key's filter) reaches the statement: its NUL
    was answered as a ``cursor`` the API did not return (the listings read any
    ``ValueError`` of the store as a bad cursor), with no cursor sent."""
    root = {"Authorization": f"Bearer {pg_gateway.secret_key}"}
    reply = call(pg_gateway.api_url + "/v1/audit-events?account=acct_%00", headers=root)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["code"] == "InvalidRequest", reply.body


def test_an_object_whose_acl_row_cannot_be_kept_is_not_written(pg_gateway: Gateway) -> None:
    """The ACL row is written after the object's commit: the key is checked first, so a
    refused write leaves nothing behind (the object without its ACL would have been
    stored, answered with a 500)."""
    s3: Any = pg_gateway.client()
    s3.create_bucket(Bucket="nul-keys")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="nul-keys", Key="a\x00c", Body=b"x", ACL="public-read")
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="nul-keys", Key="a\x00c")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as upload:
        s3.create_multipart_upload(Bucket="nul-keys", Key="a\x00d", ACL="public-read")
    assert upload.value.response["Error"]["Code"] == "InvalidArgument"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="nul-keys")
    # A key with NUL and the default ACL needs no row: stored as on SQLite.
    s3.put_object(Bucket="nul-keys", Key="a\x00b", Body=b"kept")
    with pytest.raises(ClientError) as acl:
        s3.put_object_acl(Bucket="nul-keys", Key="a\x00b", ACL="public-read")
    assert acl.value.response["Error"]["Code"] == "InvalidArgument"
    assert s3.get_object(Bucket="nul-keys", Key="a\x00b")["Body"].read() == b"kept"
    assert "Traceback" not in pg_gateway.log()


def test_sqlite_keeps_its_answers_and_no_500(sqlite_gateway: Gateway) -> None:
    """The same requests on SQLite, which keeps NUL: unknown keys and ids, a key with NUL
    and an ACL stored."""
    for path in _presigned_paths():
        reply = call(sqlite_gateway.s3_url + path)
        assert reply.status == 403 and b"<Code>InvalidAccessKeyId</Code>" in reply.body
    root = {"Authorization": f"Bearer {sqlite_gateway.secret_key}"}
    for path in REST_PATHS:
        assert call(sqlite_gateway.api_url + path, headers=root).status == 404, path
    s3: Any = sqlite_gateway.client()
    s3.create_bucket(Bucket="nul-keys")
    s3.put_object(Bucket="nul-keys", Key="a\x00c", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket="nul-keys", Key="a\x00c")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    assert "Traceback" not in sqlite_gateway.log()
