"""CLI commands for the churn early warning: `qunke churn run|list`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.choices import truncation_note
from bot.cli.output import JsonFlag, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.churn import warning as churn
from services.churn.model import ChurnPolicy
from services.clock import SystemClock
from storage.db import create_db_engine, make_sessionmaker

churn_app = typer.Typer(no_args_is_help=True, help="流失预警：立即评分、列出有流失风险的客户 (churn early warning)")
console = Console()


@churn_app.command("run")
def churn_run(as_json: JsonFlag = False) -> None:
    """立即为所有客户评分并提醒新越线的客户 (score now; the daily job runs at churn.run_at)"""
    settings = load_settings()
    policy = ChurnPolicy.from_config(settings.churn.model_dump())

    async def run() -> churn.ChurnRun:
        engine = create_db_engine(settings.database.url)
        try:
            return await churn.run_churn(make_sessionmaker(engine), SystemClock().now(), policy)
        finally:
            await engine.dispose()

    summary = asyncio.run(run())
    if as_json:
        print_json(summary.to_dict())
        return
    typer.echo(
        f"已评分 {summary.scored} 位客户，{summary.at_risk} 位有流失风险；新超过阈值 {summary.crossed} 位，"
        f"已提醒负责人 {summary.alerted} 位"
        + (f"（{summary.not_alerted} 位已流失或无负责人，未提醒）" if summary.not_alerted else "")
    )


@churn_app.command("list")
def churn_list(
    limit: Annotated[int, typer.Option(help="最多显示几条，风险最高在前 (riskiest first)")] = 50,
    include_lost: Annotated[
        bool, typer.Option("--include-lost", help="也列出已流失的客户 (include lost customers)")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """上次评分中超过阈值的客户，附原因与建议 (customers at risk, with reasons)"""
    settings = load_settings()

    async def listed(session: AsyncSession) -> tuple[list[churn.AtRisk], int]:
        rows = await churn.at_risk(session, limit, include_lost=include_lost)
        return rows, await churn.count_at_risk(session, include_lost=include_lost)

    rows, total = with_session(settings, listed)
    if as_json:
        print_json({"total": total, "customers": [r.to_dict() for r in rows]})
        return
    table = Table("客户ID", "客户", "负责人", "风险", "原因", "建议")
    for r in rows:
        table.add_row(
            str(r.customer_id),
            Text(r.name or "-"),
            r.owner_name or r.owner_userid or "-",
            f"{round(r.risk * 100)}%",
            Text("\n".join(r.reasons)),
            r.action,
        )
    console.print(table)
    truncation_note(len(rows), total)
