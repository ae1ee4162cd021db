"""The customer simulator page: one HTML file plus its script and stylesheet, served from the package."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import web

ASSET_TYPES: Final = {
    "simulator.js": "application/javascript",
    "simulator.css": "text/css",
    "chats.js": "application/javascript",
    "render.js": "application/javascript",
    "chat_rows.js": "application/javascript",
}
# Nothing inline and nothing remote: user text that slipped into markup still could not run.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class PageAssets:
    index: bytes
    files: dict[str, bytes]


ASSETS: Final = web.AppKey("sandbox_page_assets", PageAssets)


def _read_assets() -> PageAssets:
    folder = resources.files("sandbox.web") / "static"
    files = {name: (folder / name).read_bytes() for name in ASSET_TYPES}
    return PageAssets((folder / "index.html").read_bytes(), files)


async def _load_assets(app: web.Application) -> None:
    app[ASSETS] = await asyncio.to_thread(_read_assets)


async def index(request: web.Request) -> web.Response:
    body = request.app[ASSETS].index
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    body = request.app[ASSETS].files.get(name)
    if body is None:
        raise web.HTTPNotFound(text="未找到 / not found")
    return web.Response(body=body, content_type=ASSET_TYPES[name], charset="utf-8", headers=SECURITY_HEADERS)


async def no_favicon(request: web.Request) -> web.Response:
    """Browsers ask for it on every load; an empty answer keeps a 404 out of the page's console."""
    return web.Response(status=204, headers=SECURITY_HEADERS)


async def to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/sandbox/")


def setup_page(app: web.Application) -> None:
    app.on_startup.append(_load_assets)
    app.router.add_get("/sandbox/", index)
    app.router.add_get("/sandbox", to_index)
    app.router.add_get("/", to_index)
    app.router.add_get("/favicon.ico", no_favicon)
    app.router.add_get("/sandbox/static/{name}", asset)
