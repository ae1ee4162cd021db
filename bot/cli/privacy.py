"""PIPL commands on `qunke customer`: `export ID --out FILE` and `erase ID --yes` (both audited)."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.customers import customer_app
from bot.config.settings import load_settings
from services.access import audit
from services.access.audit import Origin
from services.clock import SystemClock
from services.privacy import pipl as privacy
from storage.db import create_db_engine, make_sessionmaker

CustomerId = Annotated[int, typer.Argument(help="客户 ID，见 `customer list` (the customer)")]


def _origin() -> Origin:
    return Origin(actor=f"cli:{getpass.getuser()}")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@customer_app.command("export")
def customer_export(
    customer_id: CustomerId,
    out: Annotated[Path, typer.Option("--out", help="JSON 文件的写入路径 (output file)")],
) -> None:
    """导出一个人的全部数据为一个 JSON 文档（个人信息查阅请求） (PIPL export)"""

    async def run() -> dict[str, Any]:
        engine = create_db_engine(load_settings().database.url)
        try:
            async with make_sessionmaker(engine)() as session:
                document = await privacy.export_person(session, customer_id)
                await audit.record(
                    session, SystemClock().now(), _origin(), "customer_export", f"customer:{customer_id}"
                )
                await session.commit()
                return document
        finally:
            await engine.dispose()

    try:
        document = asyncio.run(run())
    except privacy.PrivacyError as exc:
        _fail(f"{exc} (no such customer)")
        return
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    rows = sum(len(v) for v in document["tables"].values())
    typer.echo(f"已导出客户 {customer_id} 的全部数据（{rows} 行）到 {out}")


@customer_app.command("erase")
def customer_erase(
    customer_id: CustomerId,
    yes: Annotated[bool, typer.Option("--yes", help="确认：此操作不可撤销 (confirm)")] = False,
) -> None:
    """彻底删除一个人在各处的数据（个人信息删除）；仅留不含身份信息的删除记录 (PIPL erasure)"""
    if not yes:
        _fail("删除不可撤销：确认请加 --yes (erasure cannot be undone; pass --yes)")
    counts, scrubbed = asyncio.run(erase(customer_id))
    removed = "、".join(f"{name} {n}" for name, n in counts.items() if n)
    typer.echo(f"已删除客户 {customer_id} 的个人数据：{removed}")
    if not scrubbed:
        typer.secho("注意：数据库正忙，已删除的文本可能暂留在 WAL 文件中，下次检查点后清除", fg=typer.colors.YELLOW)


async def erase(customer_id: int) -> tuple[dict[str, int], bool]:
    engine = create_db_engine(load_settings().database.url)
    try:
        async with make_sessionmaker(engine)() as session:
            now = SystemClock().now()
            try:
                counts = await privacy.erase_person(session, now, customer_id, _origin().actor)
            except privacy.PrivacyError as exc:
                _fail(f"{exc} (no such customer)")
            await audit.record(session, now, _origin(), "customer_erase", f"customer:{customer_id}", counts)
            await session.commit()
            scrubbed = await privacy.scrub_file(session)
            await session.commit()
            return counts, scrubbed
    finally:
        await engine.dispose()
