"""CLI commands for rep follow-ups: `qunke followup add|list|done`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.access.viewer_reads import followups_in_scope
from services.clock import SystemClock
from services.purchases.recording import resolve_customers
from services.service import followups
from storage.models.customers import Customer

followup_app = typer.Typer(no_args_is_help=True, help="跟进提醒：提醒客服跟进客户 (follow-ups)")
console = Console()


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _due(text: str | None, zone: str) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise _fail(
            f"--due: 时间应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM / expected a date or date and time: {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


@followup_app.command("add")
def followup_add(
    customer: Annotated[str, typer.Argument(help="客户 ID 或 external_userid (the customer)")],
    note: Annotated[str, typer.Argument(help="跟进内容，如 回访使用体验 (what to do)")],
    to: Annotated[str | None, typer.Option("--to", help="负责跟进的成员 userid，默认客户的负责人 (the rep)")] = None,
    due: Annotated[str | None, typer.Option(help="到期时间（YYYY-MM-DD [HH:MM]，业务时区），默认现在 (when)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """提醒客服跟进客户；到期时客服会收到私信 (add a follow-up)"""
    settings = load_settings()
    when = _due(due, settings.timezone)
    now = SystemClock().now()

    async def work(session: AsyncSession) -> int:
        found = await resolve_customers(session, [customer])
        if customer not in found:
            raise followups.FollowupError(f"找不到客户 {customer!r} / unknown customer")
        row = await session.get(Customer, found[customer])
        member = to or (row.owner_userid if row is not None else None)
        if not member:
            raise followups.FollowupError("客户没有负责人，请用 --to 指定成员 / the customer has no owner: use --to")
        created = await followups.add_followup(
            session, now, customer_id=found[customer], member_userid=member, due_at=when, note=note, created_by="cli"
        )
        assert created is not None
        return created

    try:
        followup_id = with_session(settings, work)
    except followups.FollowupError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print_json({"id": followup_id, "label": followups.label(followup_id), "due_at": when})
        return
    typer.echo(f"已创建跟进 {followups.label(followup_id)}，到期 {local(when, settings.timezone)}")


@followup_app.command("list")
def followup_list(
    member: Annotated[str | None, typer.Option(help="只看这位成员的跟进 (one rep)")] = None,
    status: Annotated[
        str, typer.Option(help="open | done | cancelled | all（也可写 待跟进 / 已完成 / 已取消） (status)")
    ] = "open",
    limit: Annotated[int, typer.Option(help="显示多少条，最早到期在前 (how many)")] = 50,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
) -> None:
    """跟进列表，最早到期在前 (follow-ups)"""
    chinese = {v: k for k, v in followups.STATUS_TEXT.items()}
    wanted = chinese.get(status, status)
    if wanted not in (*followups.STATUS_TEXT, "all"):
        raise _fail(f"--status: 未知状态 {status!r}；可选 open, done, cancelled, all / unknown status")
    settings = load_settings()

    async def listed(session: AsyncSession) -> tuple[list[followups.FollowupView], int]:
        viewer = await viewer_of(session, as_user)
        return await followups_in_scope(session, viewer, member, None if wanted == "all" else wanted, limit)

    views, total = run_as(settings, listed)
    if as_json:
        print_json({"total": total, "followups": [v.to_dict() for v in views]})
        return
    table = Table("跟进", "客户", "负责人", "到期", "内容", "状态")
    for v in views:
        table.add_row(
            v.label,
            v.customer_name or str(v.customer_id),
            v.member_userid,
            local(v.due_at, settings.timezone),
            v.note,
            followups.STATUS_TEXT.get(v.status, v.status),
        )
    console.print(table)
    if total > len(views):
        typer.echo(f"显示 {len(views)} / 共 {total} 条")


@followup_app.command("done")
def followup_done(ref: Annotated[str, typer.Argument(help="F12 或 12 (the follow-up)")]) -> None:
    """标记跟进已完成（管理者可标记任何成员的） (mark done)"""
    followup_id = followups.parse_ref(ref)
    if followup_id is None:
        raise _fail(f"跟进编号应为 F12 这样的格式 / expected a follow-up like F12: {ref!r}")
    settings = load_settings()
    try:
        with_session(settings, lambda s: followups.complete(s, SystemClock().now(), followup_id, None))
    except followups.FollowupError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"跟进 {followups.label(followup_id)} 已完成")
