"""The ``/v1`` API's error answers leave no reference cycle of ours behind
(``tests/cycles.py``): a raised exception's traceback holds the frames it passed
through, and a frame (or an object one holds: aiohttp's match info keeps its routing
error) holding the exception kept the request's objects for the cyclic collector.
``json_error_middleware`` drops an answered error's tracebacks (``gateway/tracebacks.py``).
The app runs in-process on the real filesystem backend."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.cycles import cycles_of_ours, describe
from tests.gateway.api.conftest import ADMIN, bearer, error_of, mint
from tests.gateway.api.test_objects import content

ROUNDS = 5


async def _errors(api: TestClient[Any, Any], reader: dict[str, str]) -> None:
    """One request of each kind of error answer."""
    # the backend's 404s: a missing object, a missing bucket
    await error_of(await api.get(content("photos", "missing"), headers=ADMIN), 404)
    await error_of(await api.get(content("nobucket", "missing"), headers=ADMIN), 404)
    # aiohttp's router: no such route, no such method
    await error_of(await api.get("/v1/nothing-here", headers=ADMIN), 404)
    await error_of(await api.patch("/v1/buckets", headers=ADMIN), 405)
    # no credential, a refused one, one without the scope
    await error_of(await api.get("/v1/buckets"), 401)
    await error_of(await api.get("/v1/buckets", headers=bearer("sk_not_a_key")), 401)
    refused = await api.put(content("photos", "k"), data=b"x", headers=reader)
    await error_of(refused, 403)
    # a request the handler refuses: an empty key
    await error_of(await api.get("/v1/buckets/photos/objects/content?key=", headers=ADMIN), 400)


async def test_error_answers_leave_no_cycles(api: TestClient[Any, Any]) -> None:
    created = await api.post("/v1/buckets", json={"name": "photos"}, headers=ADMIN)
    assert created.status == 201, await created.text()
    reader = bearer((await mint(api, scopes=["read:objects"]))["secret"])
    await _errors(api, reader)  # imports, memos and caches settle first
    with cycles_of_ours() as found:
        for _ in range(ROUNDS):
            await _errors(api, reader)
    assert not found, f"left to the cyclic collector: {describe(found)}"
