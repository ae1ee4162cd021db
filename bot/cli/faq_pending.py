"""`qunke faq confirm-variant` and the pending variants `faq unanswered` shows: customers' words a menu tap tied
to an entry (services/faq/learning.py), which reach the KB only when a manager confirms them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import Settings, load_settings
from services.clock import SystemClock
from services.faq import learning
from services.faq.kb import KbError
from services.faq.learning import PendingVariant

console = Console()


def pending_variants(settings: Settings) -> list[PendingVariant]:
    return with_session(settings, learning.pending)


def print_pending(rows: list[PendingVariant], zone: str) -> None:
    if not rows:
        return
    table = Table("编号", "客户原话", "点选的条目", "提问时间", title="客户点选“您是想问”得到的待确认问法")
    for row in rows:
        table.add_row(str(row.id), Text(row.text), row.entry_id, local(row.asked_at, zone))
    console.print(table)
    console.print("用 qunke faq confirm-variant 编号 把原话加为该条目的问法（--reject 不采纳）。")


def faq_confirm_variant(
    variant_id: Annotated[int, typer.Argument(help="`faq unanswered` 中待确认问法的编号 (the pending variant)")],
    reject: Annotated[bool, typer.Option("--reject", help="不采纳这个问法 (reject it)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """确认（或不采纳）客户点选菜单留下的问法；确认后无需重启即生效 (confirm a pending variant)"""
    settings = load_settings()
    similarity = settings.faq.unanswered_similarity

    async def work(session: AsyncSession) -> PendingVariant:
        if reject:
            return await learning.reject(session, variant_id)
        return await learning.confirm(session, variant_id, SystemClock().now(), similarity=similarity)

    try:
        row = with_session(settings, work)
    except KbError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json({"id": row.id, "entry_id": row.entry_id, "text": row.text, "confirmed": not reject})
    elif reject:
        typer.echo(f"已不采纳问法 {row.id}：{row.text}")
    else:
        typer.echo(f"已为条目 {row.entry_id} 添加问法：{row.text}")
