"""CLI commands for purchases: `qunke purchase add|import|list`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.cli.choices import truncation_note
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.clock import SystemClock
from services.purchases import recording as purchases

purchase_app = typer.Typer(no_args_is_help=True, help="购买记录：录入、导入 CSV、列表 (purchases)")
console = Console()


@purchase_app.command("add")
def purchase_add(
    customer: Annotated[str, typer.Argument(help="客户 ID 或 external_userid (the customer)")],
    reference: Annotated[str, typer.Argument(help="订单号；重复录入不会改变什么 (order reference)")],
    amount: Annotated[str, typer.Argument(help="金额（元），例如 199 或 199.50 (amount in yuan)")],
    item: Annotated[str, typer.Option(help="购买的商品 (item)")] = "",
    at: Annotated[str | None, typer.Option(help="购买时间 ISO 8601，无时区按业务时区；默认现在 (when)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """录入一条购买记录 (record one purchase)"""
    settings = load_settings()
    when = at or SystemClock().now().isoformat()
    try:
        view, new = with_session(
            settings,
            lambda s: purchases.record_purchase(
                s,
                customer=customer,
                reference=reference,
                item=item,
                amount=amount,
                purchased_at=when,
                zone=settings.timezone,
            ),
        )
    except purchases.PurchaseError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json({**view.to_dict(), "new": new})
        return
    state = "已记录" if new else "订单号已存在，未改动"
    typer.echo(
        f"{state}：客户 {view.customer_id} 购买 {view.item or '-'} ¥{purchases.format_amount(view.amount_cents)}"
    )


@purchase_app.command("import")
def purchase_import(
    file: Annotated[
        Path,
        typer.Argument(help="带表头的 CSV：reference,customer,item,amount,purchased_at；- 表示标准输入 (the CSV)"),
    ],
    as_json: JsonFlag = False,
) -> None:
    """导入购买记录：任何一行有错则全部不写入，已导入的订单号跳过 (import purchases)"""
    settings = load_settings()
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.secho(f"无法读取文件 / cannot read {file}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    result = with_session(settings, lambda s: purchases.import_csv(s, text, settings.timezone))
    if as_json:
        print_json(result.to_dict())
    else:
        for problem in result.errors:
            typer.secho(f"第 {problem.line} 行 / line {problem.line}: {problem.message}", fg=typer.colors.RED, err=True)
        for problem in result.conflicts:
            typer.secho(
                f"第 {problem.line} 行 / line {problem.line}: {problem.message}", fg=typer.colors.YELLOW, err=True
            )
        if not result.errors:
            typer.echo(f"共 {result.rows} 行：新增 {result.added}，已存在 {result.already} (added {result.added})")
        else:
            typer.echo(f"有 {len(result.errors)} 行出错，未导入任何记录 (nothing imported)", err=True)
    if result.errors:
        raise typer.Exit(1)


@purchase_app.command("list")
def purchase_list(
    customer: Annotated[str | None, typer.Option(help="只看这个客户 (only this customer)")] = None,
    limit: Annotated[int, typer.Option(help="最多显示几条，最新在前 (newest first)")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """购买记录，最新在前 (purchases, newest first)"""
    settings = load_settings()
    try:
        rows, total = with_session(settings, lambda s: purchases.purchases_page(s, limit, customer))
    except purchases.PurchaseError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json({"total": total, "purchases": [r.to_dict() for r in rows]})
        return
    table = Table("订单号", "客户ID", "商品", "金额", "购买时间")
    for r in rows:
        table.add_row(
            Text(r.reference),
            str(r.customer_id),
            Text(r.item),
            purchases.format_amount(r.amount_cents),
            local(r.purchased_at, settings.timezone),
        )
    console.print(table)
    truncation_note(len(rows), total)
