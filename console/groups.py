"""社群: each customer group's members, joins and leaves, messages, speakers and how its questions were answered."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from console.deps import db, now, viewer
from console.render import int_param, page
from services.reports.group_health import group_health

PERIODS = (7, 30, 90)


async def groups_page(request: web.Request) -> web.StreamResponse:
    days = int_param(request, "days", 7)
    days = days if days in PERIODS else 7
    end = now(request)
    async with db(request) as session:
        rows = await group_health(session, viewer(request), end - timedelta(days=days), end)
    return page(request, "groups.html", {"rows": rows, "days": days, "periods": PERIODS})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/groups", groups_page)
