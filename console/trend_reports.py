"""报表 everyone may open (each scoped to the viewer): retention cohorts, churn and repurchase, CLV by tier, NPS.

Each is a table with a chart and the same table as CSV at `/console/reports/<name>.csv`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from console.deps import db, deps, now, viewer
from console.render import page
from console.reports import csv_response
from services.access.viewer import Viewer
from services.reports.churn import churn_and_repurchase
from services.reports.clv import clv_by_tier
from services.reports.months import Table
from services.reports.nps import nps_by_month
from services.reports.retention import retention_cohorts

Builder = Callable[[AsyncSession, Viewer, web.Request], Awaitable[Table]]
TITLES: Final = {
    "retention": "留存（按首次接触月份）",
    "churn": "流失率与复购率",
    "clv": "客户价值（按 RFM 分层）",
    "nps": "NPS 趋势",
}
NOTES: Final = {
    "retention": "第 N 月留存：首次接触后第 N 个月内发过消息或有购买的客户占比。",
    "churn": "流失率：月初已有且未流失的客户中，当月流失的占比；复购率：当月购买的客户中，此前已购买过的占比。",
    "clv": "截至今天的累计消费；分层来自每日的 RFM 计算，尚未计算的客户记为「未评分」。",
    "nps": "推荐者 9-10 分，被动者 7-8 分，贬损者 0-6 分；NPS = 推荐者% − 贬损者%。",
}


def _zone(request: web.Request) -> str:
    return deps(request).config.timezone


BUILDERS: Final[dict[str, Builder]] = {
    "retention": lambda s, v, r: retention_cohorts(s, v, now(r), _zone(r)),
    "churn": lambda s, v, r: churn_and_repurchase(s, v, now(r), _zone(r)),
    "clv": lambda s, v, r: clv_by_tier(s, v),
    "nps": lambda s, v, r: nps_by_month(s, v, now(r), _zone(r)),
}


async def _table(request: web.Request, name: str) -> Table:
    async with db(request) as session:
        return await BUILDERS[name](session, viewer(request), request)


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        table = await _table(request, name)
        context = {"name": name, "title": TITLES[name], "note": NOTES[name], "table": table, "reports": TITLES}
        return page(request, "trend_report.html", context)

    return handler


def _csv(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        table = await _table(request, name)
        return csv_response(f"{name}-{now(request).date().isoformat()}.csv", table.header, table.rows)

    return handler


def add_routes(app: web.Application) -> None:
    """Registered before /reports/{name} so these fixed paths win over the service report's pattern."""
    for name in TITLES:
        app.router.add_get(f"/reports/{name}", _page(name))
        app.router.add_get(f"/reports/{name}.csv", _csv(name))
