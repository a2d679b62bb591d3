"""The API application in-process (real identity store and filesystem backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_api_app
from gateway.bootstrap import ensure_admin
from gateway.config import Config, load_config

ROOT_KEY = "AKIAUNITTESTROOT0001"
ROOT_SECRET = "unit-root-secret-0123456789abcdefghij"
ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(
        env={
            "NFYIO_DATA_DIR": str(tmp_path / "data"),
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            "NFYIO_AUTH_USAGE_FLUSH_INTERVAL": "0.05",
        }
    )


@pytest.fixture
async def api(config: Config, aiohttp_client: Any) -> AsyncIterator[TestClient[Any, Any]]:
    await ensure_admin(config)
    client: TestClient[Any, Any] = await aiohttp_client(make_api_app(Shared(config)))
    yield client


async def mint(
    api: TestClient[Any, Any], headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    """Create a key (as admin unless ``headers``) and return the 201 body."""
    body.setdefault("name", "test key")
    response = await api.post("/v1/access-keys", json=body, headers=headers or ADMIN)
    assert response.status == 201, await response.text()
    result: dict[str, Any] = await response.json()
    return result


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    """Assert the JSON error shape and status; return ``error``."""
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error
