"""Console addresses a person may type: /console/reports opens the first report, an unknown page says so in Chinese."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

FIRST_REPORT: Final = "/console/reports/retention"  # where the nav's 报表 link goes
NOT_FOUND_TEXT: Final = "未找到该页面：请从控制台首页的菜单进入 /console/"


@web.middleware
async def chinese_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404 for an unmatched path reads "404: Not Found"; a handler's own 404 text is kept."""
    try:
        return await handler(request)
    except web.HTTPNotFound as missing:
        if missing.text and missing.text != "404: Not Found":
            raise
        raise web.HTTPNotFound(text=NOT_FOUND_TEXT) from None


async def reports_index(_: web.Request) -> web.Response:
    raise web.HTTPFound(FIRST_REPORT)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reports", reports_index)
