"""`qunke customer tag ID --add 标签 --remove 标签`: edit a customer's corp tags through WeCom's mark_tag."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.customers import customer_app
from bot.cli.output import JsonFlag, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.clock import SystemClock
from services.customers import tagging


@customer_app.command("tag")
def customer_tag(
    customer: Annotated[str, typer.Argument(help="客户 ID 或 external_userid (the customer)")],
    add: Annotated[list[str] | None, typer.Option("--add", help="要添加的标签名，可重复 (add a tag)")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="要移除的标签名，可重复 (remove a tag)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """添加或移除标签：机器人以负责人身份提交企业微信，标签随回调更新 (edit tags)"""
    settings = load_settings()
    try:
        change = with_session(
            settings, lambda s: tagging.change_tags(s, SystemClock().now(), customer, add or [], remove or [])
        )
    except tagging.TagError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json(change)
        return
    parts = [
        f"添加 {', '.join(change.added)}" if change.added else "",
        f"移除 {', '.join(change.removed)}" if change.removed else "",
    ]
    typer.echo(f"已提交（以 {change.owner} 的身份）：{'；'.join(p for p in parts if p)}，企业微信确认后客户标签会更新")
