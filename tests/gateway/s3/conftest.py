"""The S3 application in-process: the real app factory, identity store and filesystem
backend, driven by aiohttp's test client (no mocks of our code)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_s3_app
from gateway.bootstrap import ensure_admin
from gateway.config import Config, load_config

ROOT_KEY = "AKIAUNITTESTROOT0001"
ROOT_SECRET = "unit-root-secret-0123456789abcdefghij"
ROOT = {"Authorization": f"Bearer {ROOT_SECRET}"}


def make_config(tmp_path: Path, **env: str) -> Config:
    return load_config(
        env={
            "NFYIO_DATA_DIR": str(tmp_path / "data"),
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            **env,
        }
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def s3(config: Config, aiohttp_client: Any) -> AsyncIterator[TestClient[Any, Any]]:
    await ensure_admin(config)
    client: TestClient[Any, Any] = await aiohttp_client(make_s3_app(Shared(config)))
    yield client


async def error_code(response: Any, status: int) -> str:
    """Assert an S3 XML error with ``status``; return its code."""
    body = await response.read()
    assert response.status == status, body
    assert response.headers["Content-Type"] == "application/xml"
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("RequestId") == response.headers["x-amz-request-id"]
    code = root.findtext("Code")
    assert code
    return code


async def make_bucket(s3: TestClient[Any, Any], name: str = "bucket") -> str:
    response = await s3.put(f"/{name}", headers=ROOT)
    assert response.status == 200, await response.text()
    return name
