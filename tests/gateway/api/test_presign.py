"""``POST /v1/buckets/{name}/objects/presign``: the URL botocore would make, signed with the
caller's own key only, never outliving it; OAuth tokens are refused with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
import botocore.crt.auth
import pytest
from aiohttp.test_utils import TestClient
from botocore.config import Config as BotoConfig

from gateway.api.presign import PresignInput, presigned_get
from gateway.app import Shared, make_api_app
from gateway.bootstrap import ensure_admin
from gateway.config import Config, load_config
from tests.gateway.api.conftest import ADMIN, ROOT_KEY, ROOT_SECRET, bearer, error_of, mint

Client = TestClient[Any, Any]
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _botocore_url(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str, key: str, expires: int
) -> str:
    def frozen(remove_tzinfo: bool = True) -> datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    # botocore signs with awscrt when it is installed (it is: CRC32C), else in Python.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", frozen)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", frozen)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region_name="eu-west-3",
        config=BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )
    return url


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:7007", "https://s3.example.com", "http://[::1]:9000"]
)
@pytest.mark.parametrize("key", ["a/b c.txt", "é~+=&?#.txt", "x//y/../z", "plain"])
def test_the_url_is_the_one_botocore_makes(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str
) -> None:
    ours = presigned_get(
        PresignInput(
            endpoint=endpoint,
            bucket="my-bucket",
            key=key,
            access_key_id="AKIDEXAMPLE",
            secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region="eu-west-3",
            expires=900,
            now=NOW,
        )
    )
    theirs = _botocore_url(monkeypatch, endpoint, "my-bucket", key, 900)
    # The same URL; the order of the query parameters differs between botocore's signers.
    assert urlsplit(ours)[:3] == urlsplit(theirs)[:3]
    assert parse_qs(urlsplit(ours).query) == parse_qs(urlsplit(theirs).query)


async def _presign(api: Client, headers: dict[str, str], **body: Any) -> Any:
    made = await api.post("/v1/buckets", json={"name": "photos"}, headers=ADMIN)
    assert made.status in (201, 409), await made.text()  # a bucket nobody has is 404
    return await api.post("/v1/buckets/photos/objects/presign", json=body, headers=headers)


async def test_a_bucket_nobody_has_is_not_found(api: Client) -> None:
    """For the system account's root key too: it signed a URL for any name without
    looking (tests/security/test_rest_missing_bucket.py drives every bucket route)."""
    response = await api.post(
        "/v1/buckets/absent/objects/presign", json={"key": "k"}, headers=ADMIN
    )
    assert (await error_of(response, 404))["details"] == {"bucket": "absent"}


async def test_signed_with_the_callers_key(api: Client) -> None:
    response = await _presign(api, ADMIN, key="a/b.txt")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["method"] == "GET" and body["access_key_id"] == ROOT_KEY
    parts = urlsplit(body["url"])
    assert parts.path == "/photos/a/b.txt"
    query = parse_qs(parts.query)
    assert query["X-Amz-Credential"][0].startswith(f"{ROOT_KEY}/")
    assert query["X-Amz-Expires"] == ["3600"]
    assert ROOT_SECRET not in body["url"]
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=3590) < expires_at - datetime.now(UTC) <= timedelta(seconds=3600)


async def test_expiry_is_bounded_by_sigv4_and_by_the_key(api: Client) -> None:
    too_long = await _presign(api, ADMIN, key="k", expires_in=604801)
    assert (await error_of(too_long, 400))["details"] == {"field": "expires_in"}
    soon = (datetime.now(UTC) + timedelta(seconds=120)).isoformat()
    short = await mint(api, scopes=["read:objects"], expires_at=soon)
    response = await _presign(api, bearer(short["secret"]), key="k", expires_in=604800)
    seconds = int(parse_qs(urlsplit((await response.json())["url"]).query)["X-Amz-Expires"][0])
    assert 100 < seconds <= 120


async def test_scope_and_bucket_limits(api: Client) -> None:
    no_read = await mint(api, scopes=["write:objects"])
    refused = await _presign(api, bearer(no_read["secret"]), key="k")
    assert (await error_of(refused, 403))["details"] == {"required_scope": "read:objects"}
    elsewhere = await mint(api, scopes=["read:objects"], buckets=["other-*"])
    refused = await _presign(api, bearer(elsewhere["secret"]), key="k")
    assert (await error_of(refused, 403))["details"] == {"bucket": "photos"}


async def test_an_oauth_token_cannot_presign(api: Client) -> None:
    user = await api.post(
        "/v1/users",
        json={"username": "ann", "password": "a long password", "scopes": ["read:objects"]},
        headers=ADMIN,
    )
    assert user.status == 201
    origin = str(api.make_url("")).rstrip("/")
    session = await api.post(
        "/console/session",
        json={"username": "ann", "password": "a long password"},
        headers={"Origin": origin, "X-Nfyio-Console": "1"},
    )
    token = (await session.json())["access_token"]
    refused = await _presign(api, bearer(token), key="k")
    error = await error_of(refused, 403)
    assert error["code"] == "AccessDenied"
    assert error["details"] == {"required_credential": "access_key"}
    assert "access key" in error["message"]


@pytest.fixture
def endpoint_config(tmp_path: Path) -> Config:
    return load_config(
        env={
            "NFYIO_DATA_DIR": str(tmp_path / "data"),
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            "NFYIO_CONSOLE_S3_ENDPOINT": "https://s3.example.com/",
        }
    )


async def test_the_configured_s3_endpoint_is_used(
    endpoint_config: Config, aiohttp_client: Any
) -> None:
    await ensure_admin(endpoint_config)
    api: Client = await aiohttp_client(make_api_app(Shared(endpoint_config)))
    body = await (await _presign(api, ADMIN, key="k")).json()
    assert body["url"].startswith("https://s3.example.com/photos/k?")
    settings = await (await api.get("/console/settings.json")).json()
    assert settings["s3_endpoint"] == "https://s3.example.com"


async def test_by_default_the_s3_port_on_the_host_the_caller_used(api: Client) -> None:
    body = await (await _presign(api, {**ADMIN, "Host": "gw.example.org:3000"}, key="k")).json()
    assert body["url"].startswith("http://gw.example.org:7007/photos/k?")
