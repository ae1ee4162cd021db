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
    customer: Annotated[str, typer.Argument(help="The customer's id or external_userid.")],
    add: Annotated[list[str] | None, typer.Option("--add", help="A tag name to add (repeatable).")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="A tag name to remove (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add or remove tags; the bot sends it to WeCom as the owner rep, and the tags update from WeCom's callback."""
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
