"""`qunke customer search`: the console's customer search (name or external_userid, tag, owner, status), paged."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.choices import pick
from bot.cli.customer_profile import STATUS_TEXT
from bot.cli.customers import customer_app
from bot.cli.output import JsonFlag, local, print_json
from bot.config.settings import load_settings
from services.customers.search import CustomerPage, CustomerQuery, search_customers

console = Console()


@customer_app.command("search")
def customer_search(
    query: Annotated[str, typer.Argument(help="昵称或 external_userid 的一部分；'' 表示全部 (search text)")] = "",
    tag: Annotated[str, typer.Option(help="只看带此标签的客户 (tag)")] = "",
    owner: Annotated[str, typer.Option(help="只看此负责人的客户（成员 userid） (owner)")] = "",
    status: Annotated[str | None, typer.Option(help="contact/联系人、lost/已流失、group_only/未加好友")] = None,
    page: Annotated[int, typer.Option(min=1, help="页码，每页 50 位，最新在前 (page)")] = 1,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
) -> None:
    """像控制台一样搜索客户；加 --as-user 只看该用户可见的客户 (search customers)"""
    settings = load_settings()
    wanted = CustomerQuery(
        q=query.strip(), tag=tag, owner=owner, status=pick(status, STATUS_TEXT, "--status") or "", page=page
    )

    async def found(session: AsyncSession) -> CustomerPage:
        return await search_customers(session, await viewer_of(session, as_user), wanted)

    result = run_as(settings, found)
    if as_json:
        print_json({"total": result.total, "page": result.page, "pages": result.pages, "customers": result.items})
        return
    table = Table("ID", "客户", "external_userid", "负责人", "状态", "首次出现")
    for c in result.items:
        table.add_row(
            str(c.id),
            Text(c.name),
            c.external_userid or "-",
            c.owner_name or c.owner_userid or "-",
            STATUS_TEXT.get(c.status, c.status),
            local(c.first_seen_at, settings.timezone),
        )
    console.print(table)
    typer.echo(f"共 {result.total} 位，第 {result.page}/{result.pages} 页")
