"""报表 (managers and admins): the service report as a page, and each of its tables as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from console.deps import db, deps, now
from console.render import page
from services.reports.service import ServiceReport, service_report

DEFAULT_DAYS = 7
REPORTS = {"service": "服务报表"}
# Spreadsheet apps run a cell starting with these as a formula; a customer's name must never do that.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _period(request: web.Request) -> tuple[datetime, datetime, str, str]:
    zone = ZoneInfo(deps(request).config.timezone)
    try:
        last = (
            date.fromisoformat(request.query["to"]) if request.query.get("to") else now(request).astimezone(zone).date()
        )
        first = (
            date.fromisoformat(request.query["from"])
            if request.query.get("from")
            else last - timedelta(DEFAULT_DAYS - 1)
        )
    except ValueError:
        raise web.HTTPBadRequest(text="日期格式应为 YYYY-MM-DD") from None
    if first > last:
        raise web.HTTPBadRequest(text="开始日期不能晚于结束日期")
    start, end = datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)
    return start, end, first.isoformat(), last.isoformat()


def tables(report: ServiceReport) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the report: a header and rows, the same for the page and the CSV."""
    names = report.member_names
    by_rep = [
        [
            names.get(g.key, g.key),
            g.answered,
            _num(g.business_s.p50),
            _num(g.business_s.p90),
            _num(g.business_s.average),
            g.breaches,
        ]
        for g in report.responses.by_rep
    ]
    at_risk = [
        [r.customer_id, r.name, r.owner_name or r.owner_userid or "", f"{r.risk:.2f}", "；".join(r.reasons)]
        for r in report.at_risk
    ]
    tickets = [[status, count] for status, count in report.tickets.by_status.items()]
    return {
        "by_rep": (["成员", "已回复", "首次响应 p50（秒）", "p90（秒）", "平均（秒）", "超时"], by_rep),
        "tickets": (["状态", "数量"], tickets),
        "at_risk": (["客户 ID", "客户", "负责人", "风险", "原因"], at_risk),
    }


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


async def report_page(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    as_csv = name.endswith(".csv")
    name = name.removesuffix(".csv")
    if name not in REPORTS:
        raise web.HTTPNotFound(text="没有这个报表")
    start, end, first, last = _period(request)
    async with db(request) as session:
        report = await service_report(session, start, end, now(request))
    found = tables(report)
    if as_csv:
        table = request.query.get("table", "by_rep")
        if table not in found:
            raise web.HTTPBadRequest(text=f"没有表格「{table}」，可选：{'、'.join(found)}")
        return csv_response(f"{name}-{table}-{first}-{last}.csv", *found[table])
    context = {"title": REPORTS[name], "name": name, "report": report, "tables": found, "first": first, "last": last}
    return page(request, "report.html", context)


def csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    # The BOM lets Excel open the Chinese text as UTF-8.
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reports/{name}", report_page)
