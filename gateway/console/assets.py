"""The console's pages and static files, served by the API listener with strict headers.

The files are package data (``gateway/console/static``: HTML, ES modules, CSS; no build
step), read once per process into memory (a few tens of KiB) and answered with an ETag
(``If-None-Match`` gives 304) and ``Cache-Control: no-cache`` (always revalidated, so an
upgraded gateway never runs yesterday's scripts). Only files that exist in the package are
served: a name is a key of a dict, never a filesystem path.

Every console response carries :data:`SECURITY_HEADERS`: a CSP that allows scripts and
styles from this origin only (no inline script or style, no ``eval``), connections to this
origin only, no framing (``frame-ancestors 'none'``), no referrer, ``nosniff``.
:func:`install` adds them to every other answer under ``/console`` too (the session
endpoint's JSON, 404 and 405 errors), with ``Cache-Control: no-store`` unless the
handler chose otherwise: "every console response" has no exceptions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from gateway import __version__
from gateway.api.presign import s3_endpoint_url
from gateway.state import CONFIG

__all__ = [
    "CSP",
    "SECURITY_HEADERS",
    "Asset",
    "asset",
    "index",
    "install",
    "is_console_path",
    "load_assets",
    "redirect_to_console",
    "settings",
]

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _walk(folder: Traversable, prefix: str) -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_walk(entry, f"{name}/"))
            continue
        suffix = entry.name[entry.name.rfind(".") :]
        if suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found[name] = Asset(body, _TYPES[suffix], etag)
    return found


_CACHE: dict[str, dict[str, Asset]] = {}


def load_assets() -> dict[str, Asset]:
    """Relative path (``js/app.js``) -> asset, read from the package once per process."""
    if "assets" not in _CACHE:
        _CACHE["assets"] = _walk(resources.files("gateway.console") / "static", "")
    return _CACHE["assets"]


def _serve(request: web.Request, item: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": item.etag}
    if item.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=item.body, headers={**headers, "Content-Type": item.content_type})


def is_console_path(path: str) -> bool:
    """``/`` (the redirect), ``/console`` and everything under ``/console/``."""
    return path in ("/", "/console") or path.startswith("/console/")


async def _console_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    if not is_console_path(request.path):
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")


def install(app: web.Application) -> None:
    """Every answer on a console path carries :data:`SECURITY_HEADERS` (errors included:
    the JSON 404 of a mistyped file, the session endpoint's 401/403, a 405)."""
    app.on_response_prepare.append(_console_headers)


async def index(request: web.Request) -> web.Response:
    """``GET /console``: the single page (navigation inside it is the URL fragment)."""
    return _serve(request, load_assets()["index.html"])


async def asset(request: web.Request) -> web.Response:
    """``GET /console/static/{path}``."""
    item = load_assets().get(request.match_info["path"])
    if item is None or request.match_info["path"] == "index.html":
        raise web.HTTPNotFound()
    return _serve(request, item)


async def redirect_to_console(request: web.Request) -> web.Response:
    """``GET /`` and ``GET /console/``: people who open the API listener in a browser, or
    type the console's address with a trailing slash, land in the console (not on a JSON
    404)."""
    raise web.HTTPFound("/console")


async def settings(request: web.Request) -> web.Response:
    """``GET /console/settings.json``: what the page needs before sign-in. No secret."""
    config = request.app[CONFIG]
    body = {
        "version": __version__,
        "s3_endpoint": s3_endpoint_url(request, config),
        "region": config.s3.region,
        "max_upload_bytes": config.s3.max_object_size,
    }
    return web.json_response(body, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})
