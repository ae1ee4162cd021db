"""`qunke report service|campaigns`: the service report (response times, SLA, tickets, CSAT/NPS, at risk) and
the campaign funnel with lift."""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.output import JsonFlag, local, print_json
from bot.config.settings import load_settings
from campaigns import manage
from services.access.viewer_reads import require_manager
from services.clock import SystemClock
from services.reports.service import ServiceReport, service_report
from services.service.response_times import GroupStats
from services.tickets.text import SOURCE_TEXT, STATUS_TEXT

report_app = typer.Typer(no_args_is_help=True, help="给管理者的报表 (reports for managers)")
console = Console()
DEFAULT_DAYS = 7


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} 需要日期 YYYY-MM-DD / expected a date YYYY-MM-DD, got {value!r}") from None


def period(start: str | None, end: str | None, zone: str, now: datetime) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the business zone; by default the last 7 days including today."""
    tz = ZoneInfo(zone)
    last = _day(end, "--to") if end else now.astimezone(tz).date()
    first = _day(start, "--from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise typer.BadParameter("--from 不能晚于 --to / --from must not be after --to")
    return datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz)


@report_app.command("service")
def report_service(
    start: Annotated[str | None, typer.Option("--from", help="起始日 YYYY-MM-DD（业务时区）(first day)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="结束日 YYYY-MM-DD，含当天 (last day, included)")] = None,
    at_risk: Annotated[
        int, typer.Option("--at-risk", help="列出几位有流失风险的客户 (how many at-risk customers)")
    ] = 20,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
) -> None:
    """服务报表：各客服响应时间、SLA 超时、工单、CSAT、NPS、流失风险客户 (the service report)"""
    settings = load_settings()
    now = SystemClock().now()
    first, after = period(start, end, settings.timezone, now)

    async def built(session: AsyncSession) -> ServiceReport:
        require_manager(await viewer_of(session, as_user), "服务报表")  # counts every customer: not a rep's
        return await service_report(session, first, after, now, at_risk_limit=at_risk)

    report = run_as(settings, built)
    if as_json:
        print_json(report.to_dict())
        return
    _print(report, settings.timezone)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} 秒"
    return f"{seconds / 60:.1f} 分钟" if seconds < 3600 else f"{seconds / 3600:.1f} 小时"


def _rep_name(group: GroupStats, names: dict[str, str]) -> str:
    if group.key == "bot":
        return "机器人（FAQ）"
    if not group.key:
        return "（无负责人）"
    return f"{names.get(group.key, group.key)}（{group.key}）"


def _print(report: ServiceReport, zone: str) -> None:
    last_day = report.end - timedelta(seconds=1)
    console.print(f"[bold]服务报告[/bold] {local(report.start, zone)[:10]} 至 {local(last_day, zone)[:10]}")
    responses = report.responses
    overall = responses.overall
    off_hours = f"（其中 {overall.off_hours} 次在非工作时间内回复，不计入工作时间统计）" if overall.off_hours else ""
    console.print(
        f"首次响应：共 {overall.answered} 次{off_hours}，工作时间 p50 {_minutes(overall.business_s.p50)}，"
        f"p90 {_minutes(overall.business_s.p90)}，平均 {_minutes(overall.business_s.average)}；"
        f"实际用时 p50 {_minutes(overall.wall_s.p50)}；SLA 超时 {overall.breaches} 次"
    )
    table = Table("负责人", "回复数", "p50", "p90", "平均", "超时", title="各负责人首次响应（工作时间）")
    for group in responses.by_rep:
        s = group.business_s
        table.add_row(
            _rep_name(group, report.member_names),
            str(group.answered),
            _minutes(s.p50),
            _minutes(s.p90),
            _minutes(s.average),
            str(group.breaches),
        )
    console.print(table)
    t = report.tickets
    statuses = "，".join(f"{STATUS_TEXT.get(k, k)} {v}" for k, v in t.by_status.items())
    sources = "，".join(f"{SOURCE_TEXT.get(k, k)} {v}" for k, v in t.by_source.items() if v)
    console.print(f"工单：新开 {t.opened}（{statuses}）；来源：{sources or '无'}")
    resolution = f"{t.avg_resolution_h:.1f} 小时" if t.avg_resolution_h is not None else "-"
    console.print(
        f"      已解决 {t.solved}，重新打开 {t.reopened}，超期 {t.overdue}，仍超期未结 {t.overdue_open}，"
        f"平均解决用时 {resolution}"
    )
    sc = report.scores
    csat = f"{sc.csat_average:.2f}" if sc.csat_average is not None else "-"
    spread = " ".join(f"{k}分×{v}" for k, v in sorted(sc.csat_distribution.items()))
    rate = f"{sc.response_rate:.0%}" if sc.response_rate is not None else "-"
    console.print(f"满意度（CSAT）：平均 {csat}（{sc.csat_count} 份；{spread or '无'}）；回复率 {rate}")
    nps = f"{sc.nps:+.0f}" if sc.nps is not None else "-"
    console.print(
        f"NPS：{nps}（推荐者 {sc.promoters}，中立 {sc.passives}，贬损者 {sc.detractors}）；低分 {sc.low_scores} 次"
    )
    risky = Table("客户", "负责人", "风险", "原因", "建议", title="流失风险名单")
    for row in report.at_risk:
        risky.add_row(
            f"{row.name or '-'}（{row.customer_id}）",
            row.owner_name or row.owner_userid or "-",
            f"{row.risk:.0%}",
            "；".join(row.reasons),
            row.action,
        )
    console.print(risky if report.at_risk else "流失风险名单：暂无（或尚未运行 `qunke churn run`）")


@report_app.command("campaigns")
def report_campaigns(
    as_json: JsonFlag = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="输出带表头的 CSV，可用表格软件打开 (CSV)")] = False,
    as_user: AsUser = None,
) -> None:
    """活动漏斗：受众、对照组、跳过、任务创建与确认、送达、回复、转化，及相对对照组的提升与 95% 区间
    (every campaign's funnel and lift)"""
    settings = load_settings()

    async def built(session: AsyncSession) -> list[dict[str, Any]]:
        require_manager(await viewer_of(session, as_user), "群发报表")
        return await manage.campaigns_report(session)

    rows = run_as(settings, built)
    if as_json:
        print_json(rows)
        return
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(manage.REPORT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table("活动", "受众", "对照组", "跳过", "任务/排队", "已确认", "送达", "回复", "转化", "提升")
    for row in rows:
        lift = "样本不足" if row["lift"] is None else f"{row['lift'] * 100:+.1f}pp"
        table.add_row(
            row["name"],
            str(row["audience"]),
            str(row["held_out"]),
            str(row["skipped"]),
            f"{row['in_tasks']}/{row['queued']}",
            str(row["tasks_confirmed"]),
            str(row["delivered"]),
            str(row["replied"]),
            str(row["converted"]),
            lift,
        )
    console.print(table)
