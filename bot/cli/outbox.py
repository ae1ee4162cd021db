"""CLI over what the bot sends: `outbox list|retry` and `task list|show|remind|cancel` (mass tasks and their funnel)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.choices import pick, plain, truncation_note
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.clock import SystemClock
from services.outbox.masstasks import (
    TaskAction,
    TaskFunnel,
    list_funnels,
    request_cancel,
    request_reminder,
    show_funnel,
)
from storage.models.outbox import Outbox, OutboxKind
from storage.repos import masstasks as masstasks_repo
from storage.repos import outbox as outbox_repo

outbox_app = typer.Typer(no_args_is_help=True, help="机器人要发和已发的消息 (everything the bot sends)")
task_app = typer.Typer(no_args_is_help=True, help="企业群发任务：漏斗、提醒与取消 (mass tasks)")
console = Console()

STATUS_TEXT: Final = {
    "queued": "排队中",
    "deferred": "延后",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "失败",
    "unknown": "结果未知",
    "cancelled": "已取消",
}
TASK_TEXT: Final = {
    "pending": "待创建",
    "created": "待成员确认",
    "confirmed": "成员已发送",
    "cancelled": "已取消",
    "failed": "创建失败",
}
ACTION_TEXT: Final = {
    TaskAction.QUEUED: "已提交，发送器稍后调用企业微信",
    TaskAction.CANCELLED: "任务尚未创建，已直接取消",
    TaskAction.NOT_FOUND: "没有这个任务",
    TaskAction.NOT_CREATED: "任务还没有在企业微信创建",
    TaskAction.BUSY: "任务正在创建中，请稍后再试",
    TaskAction.CLOSED: "任务已结束（已发送、已取消或失败）",
    TaskAction.LIMIT: "24 小时内已提醒 3 次，企业微信不允许更多提醒",
}


def _row_json(row: Outbox) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "api": row.api,
        "recipient": row.recipient,
        "priority": row.priority,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "not_before": row.not_before,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
        "unknown_since": row.unknown_since,
        "result": row.result,
    }


@outbox_app.command("list")
def outbox_list(
    as_json: JsonFlag = False,
    status: Annotated[
        str | None,
        typer.Option(help="状态 (status): queued/排队中, deferred/延后, sending, sent, failed, unknown, cancelled"),
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="类型 (kind): app_message, kf_message, oa_message, mass_task …")
    ] = None,
    limit: Annotated[int, typer.Option(help="最多显示几条，最新在前 (newest first)")] = 50,
) -> None:
    """待发与已发消息：内容类型、接收方、状态与原因 (everything the bot sends)"""
    settings = load_settings()
    wanted = pick(status, STATUS_TEXT, "--status")
    of_kind = pick(kind, plain(OutboxKind), "--kind")

    async def listed(session: AsyncSession) -> tuple[list[Outbox], int]:
        rows = await outbox_repo.list_recent(session, limit=limit, status=wanted, kind=of_kind)
        return rows, await outbox_repo.count_matching(session, status=wanted, kind=of_kind)

    rows, total = with_session(settings, listed)
    if as_json:
        print_json([_row_json(r) for r in rows])
        return
    table = Table("id", "类型", "接收方", "状态", "尝试", "不早于", "发送时间", "原因")
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.recipient[:32],
            STATUS_TEXT.get(r.status, r.status),
            str(r.attempts),
            local(r.not_before, settings.timezone),
            local(r.sent_at, settings.timezone),
            r.reason[:60],
        )
    console.print(table)
    truncation_note(len(rows), total)


@outbox_app.command("retry")
def outbox_retry(row_id: Annotated[int, typer.Argument(help="`outbox list` 中的 id (the row's id)")]) -> None:
    """立即重新发送失败、未知、延后或已取消的一条；结果未知的可能重复送达 (retry a row)"""
    settings = load_settings()
    done = with_session(settings, lambda s: outbox_repo.retry(s, row_id, SystemClock().now()))
    if not done:
        typer.secho(
            f"第 {row_id} 条不能重试：不存在，或正在排队、发送中、已发送 (row {row_id} cannot be retried)", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"第 {row_id} 条已重新排队 (requeued {row_id})")


@task_app.command("list")
def task_list(
    as_json: JsonFlag = False,
    status: Annotated[
        str | None,
        typer.Option(help="状态 (status): pending/待创建, created/待成员确认, confirmed, cancelled, failed"),
    ] = None,
    limit: Annotated[int, typer.Option(help="最多显示几条，最新在前 (newest first)")] = 50,
) -> None:
    """群发任务及其漏斗：目标、已送达、未发送 (mass tasks, newest first)"""
    settings = load_settings()
    wanted = pick(status, TASK_TEXT, "--status")

    async def listed(session: AsyncSession) -> tuple[list[TaskFunnel], int]:
        return await list_funnels(session, limit, wanted), await masstasks_repo.count_tasks(session, wanted)

    funnels, total = with_session(settings, listed)
    if as_json:
        print_json([_funnel_json(f) for f in funnels])
        return
    table = Table("ID", "发送成员", "类型", "状态", "目标", "已送达", "未发送", "提醒", "创建时间", "内容")
    for f in funnels:
        table.add_row(
            str(f.id),
            f.sender,
            "客户群" if f.chat_type == "group" else "客户",
            TASK_TEXT.get(f.status, f.status),
            str(sum(f.targets.values())),
            str(f.delivered),
            str(f.targets.get("unsent", 0) + f.targets.get("pending", 0)),
            str(len(f.reminders)),
            local(f.created_at or f.queued_at, settings.timezone),
            f.text[:24],
        )
    console.print(table)
    truncation_note(len(funnels), total)


@task_app.command("show")
def task_show(task_id: Annotated[int, typer.Argument()], as_json: JsonFlag = False) -> None:
    """一个群发任务的漏斗：创建 → 成员确认 → 送达，及每个目标的状态 (one task's funnel)"""
    settings = load_settings()
    funnel = with_session(settings, lambda s: show_funnel(s, task_id))
    if funnel is None:
        typer.secho(f"没有 ID 为 {task_id} 的群发任务 (no task {task_id})", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if as_json:
        print_json({**_funnel_json(funnel), "target_list": funnel.target_rows})
        return
    zone = settings.timezone
    console.print(
        f"[bold]群发任务 {funnel.id}[/bold]  {TASK_TEXT.get(funnel.status, funnel.status)}  {funnel.msgid or ''}"
    )
    console.print(f"发送成员：{funnel.sender}   内容：{funnel.text}")
    console.print(
        f"排队 {local(funnel.queued_at, zone)} → 创建 {local(funnel.created_at, zone)} → "
        f"成员确认 {local(funnel.confirmed_at, zone)} → 已送达 {funnel.delivered}/{sum(funnel.targets.values())}"
    )
    if funnel.outbox_reason:
        console.print(f"发送器备注：{funnel.outbox_reason}")
    table = Table("目标", "类型", "状态", "送达时间")
    for t in funnel.target_rows:
        table.add_row(str(t["target_id"]), str(t["type"]), str(t["status"]), local(t["send_time"], zone))  # type: ignore[arg-type]
    console.print(table)


@task_app.command("remind")
def task_remind(task_id: Annotated[int, typer.Argument()]) -> None:
    """提醒成员确认群发，24 小时内最多 3 次 (remind the member)"""
    _act(task_id, "提醒", lambda s, now: request_reminder(s, now, task_id, load_settings().sender.mass_remind_per_day))


@task_app.command("cancel")
def task_cancel(task_id: Annotated[int, typer.Argument()]) -> None:
    """取消群发任务，已发出的不会撤回 (cancel the task)"""
    _act(task_id, "取消", lambda s, now: request_cancel(s, now, task_id))


def _act(task_id: int, verb: str, action: Callable[[AsyncSession, datetime], Awaitable[TaskAction]]) -> None:
    settings = load_settings()
    result: TaskAction = with_session(settings, lambda s: action(s, SystemClock().now()))
    message = f"{verb}任务 {task_id}：{ACTION_TEXT[result]} ({result.value})"
    if result in (TaskAction.QUEUED, TaskAction.CANCELLED):
        typer.echo(message)
        return
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _funnel_json(f: TaskFunnel) -> dict[str, Any]:
    return {
        "id": f.id,
        "sender": f.sender,
        "chat_type": f.chat_type,
        "status": f.status,
        "msgid": f.msgid,
        "text": f.text,
        "queued_at": f.queued_at,
        "created_at": f.created_at,
        "confirmed_at": f.confirmed_at,
        "cancelled_at": f.cancelled_at,
        "finished_at": f.finished_at,
        "reminders": f.reminders,
        "targets": f.targets,
        "delivered": f.delivered,
        "outbox_id": f.outbox_id,
        "outbox_status": f.outbox_status,
        "outbox_reason": f.outbox_reason,
    }
