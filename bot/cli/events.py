"""`qunke events list|retry`: the inbound callbacks in the inbox, and requeueing the failed ones."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.choices import INBOX_TEXT, pick, truncation_note
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.clock import SystemClock
from storage.models.inbox import InboundEvent
from storage.repos import inbound

events_app = typer.Typer(no_args_is_help=True, help="收到的回调事件 (inbound callbacks in the inbox)")
console = Console()


@events_app.command("list")
def events_list(
    as_json: JsonFlag = False,
    limit: Annotated[int, typer.Option(help="最多显示几条，最新在前 (newest first)")] = 50,
    status: Annotated[str | None, typer.Option(help="状态 (status): new/待处理, done/已处理, failed/失败")] = None,
) -> None:
    """收到的回调：类型、去重键、时间、状态 (what arrived)"""
    settings = load_settings()
    wanted = pick(status, INBOX_TEXT, "--status")

    async def listed(session: AsyncSession) -> tuple[list[InboundEvent], int]:
        rows = await inbound.list_recent(session, limit=limit, status=wanted)
        return rows, await inbound.count_matching(session, status=wanted)

    rows, total = with_session(settings, listed)
    items = [
        {
            "id": r.id,
            "source": r.source,
            "type": r.kind,
            "dedupe_key": r.dedupe_key,
            "received_at": r.received_at,
            "status": r.status,
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in rows
    ]
    if as_json:
        print_json(items)
        return
    table = Table("id", "来源", "类型", "去重键", "接收时间", "状态", "尝试", "备注")
    for row in rows:
        table.add_row(
            str(row.id),
            row.source,
            row.kind,
            row.dedupe_key[:40],
            local(row.received_at, settings.timezone),
            INBOX_TEXT.get(row.status, row.status),
            str(row.attempts),
            row.last_error[:40],
        )
    console.print(table)
    truncation_note(len(rows), total)


@events_app.command("retry")
def events_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="事件 id；不填则重试全部失败事件 (event ids; all failed if none)")
    ] = None,
) -> None:
    """把失败的事件重新排队，运行中的机器人会处理 (requeue failed events)"""
    settings = load_settings()
    count = with_session(settings, lambda s: inbound.retry_failed(s, SystemClock().now(), ids))
    typer.echo(f"已重新排队 {count} 个事件 (requeued {count})")
