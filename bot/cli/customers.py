"""`qunke customer list|show|merge|unmerge`: customers, one customer's profile and timeline, merging two profiles."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.choices import truncation_note
from bot.cli.customer_profile import STATUS_TEXT, print_profile
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import Settings, load_settings
from services.access.viewer_reads import check_customer, customers_in_scope
from services.clock import SystemClock
from services.customers import identity
from services.customers.profiles import CustomerProfile, CustomerSummary, customer_profile, list_customers
from services.customers.refs import UnknownCustomer, resolve_customer, resolve_customer_id
from storage.repos import contacts

customer_app = typer.Typer(no_args_is_help=True, help="客户与客户时间线 (customers and their timelines)")
console = Console()
T = TypeVar("T")


@customer_app.command("list")
def customer_list(
    as_json: JsonFlag = False,
    limit: Annotated[int, typer.Option()] = 100,
    offset: Annotated[int, typer.Option()] = 0,
    as_user: AsUser = None,
) -> None:
    """全部客户：负责人与生命周期状态 (every customer)"""
    settings = load_settings()

    async def listed(session: AsyncSession) -> tuple[list[CustomerSummary], int]:
        if as_user is not None:
            return await customers_in_scope(session, await viewer_of(session, as_user), limit, offset)
        return await list_customers(session, limit=limit, offset=offset), await contacts.count_customers(session)

    rows, total = run_as(settings, listed)
    if as_json:
        print_json(rows)
        return
    table = Table("ID", "客户", "external_userid", "负责人", "状态", "首次出现")
    for c in rows:
        table.add_row(
            str(c.id),
            c.name,
            c.external_userid or "-",
            c.owner_name or c.owner_userid or "-",
            STATUS_TEXT.get(c.status, c.status),
            local(c.first_seen_at, settings.timezone),
        )
    console.print(table)
    truncation_note(len(rows), total, offset)


@customer_app.command("show")
def customer_show(
    customer: Annotated[
        str, typer.Argument(help="客户 ID（见 `customer list`）、external_userid 或 openid (the customer)")
    ],
    page: Annotated[int, typer.Option(min=1, help="时间线页码：1 为最新，2 为更早 (page)")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=500, help="每页条数 (entries per page)")] = 50,
    since: Annotated[
        str | None, typer.Option(help="只看此时间及之后的记录，YYYY-MM-DD[THH:MM]，业务时区 (since)")
    ] = None,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
) -> None:
    """客户档案、评分与时间线的一页，最新在最后 (one customer)"""
    settings = load_settings()
    after = _since(since, settings.timezone)

    async def work(session: AsyncSession) -> CustomerProfile | None:
        found = await resolve_customer(session, customer)
        await check_customer(session, await viewer_of(session, as_user), found.id, customer)
        return await customer_profile(session, found.id, page=page, limit=limit, since=after)

    profile = run_as(settings, work)
    if profile is None:
        _fail(f"找不到客户「{customer}」")
    if as_json:
        print_json(profile.to_dict())
        return
    print_profile(profile, settings.timezone)


def _since(raw: str | None, zone: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        _fail(f"--since 格式不对：{raw!r}（应为 2026-11-23 或 2026-11-23T14:05）")
    return moment.replace(tzinfo=ZoneInfo(zone)) if moment.tzinfo is None else moment


def _resolving(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work`, turning an unknown customer reference into one line of Chinese and exit code 1."""
    try:
        return with_session(settings, work)
    except UnknownCustomer as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@customer_app.command("merge")
def customer_merge(
    survivor: Annotated[
        str, typer.Argument(help="保留的客户档案：ID、external_userid 或 openid (the profile to keep)")
    ],
    merged: Annotated[
        str, typer.Argument(help="并入的客户档案：ID、external_userid 或 openid (the profile that joins it)")
    ],
    as_json: JsonFlag = False,
) -> None:
    """合并同一个人的两份档案 (merge two profiles of one person, e.g. a kf visitor and an OA follower).

    Nothing is moved or deleted: the merged profile shows on the survivor's timeline, and `customer unmerge`
    undoes it. Both steps are recorded on the timeline.
    """
    settings = load_settings()

    async def work(session: AsyncSession) -> tuple[int, int]:
        survivor_id = await resolve_customer_id(session, survivor)
        merged_id = await resolve_customer_id(session, merged)
        kept = await identity.merge(session, survivor_id, merged_id, _actor(), SystemClock().now())
        return kept.id, merged_id

    try:
        kept, merged_id = _resolving(settings, work)
    except identity.MergeError as exc:
        _fail(str(exc))
    if as_json:
        print_json({"survivor_id": kept, "merged_id": merged_id})
        return
    typer.echo(f"已将客户 {merged_id} 合并到客户 {kept}（可用 qunke customer unmerge {merged_id} 撤销）")


@customer_app.command("unmerge")
def customer_unmerge(
    merged: Annotated[
        str, typer.Argument(help="要重新拆分出来的档案：ID、external_userid 或 openid (the profile to split off)")
    ],
    as_json: JsonFlag = False,
) -> None:
    """撤销合并：档案恢复独立，内容不变 (undo a merge)"""
    settings = load_settings()

    async def work(session: AsyncSession) -> int:
        merged_id = await resolve_customer_id(session, merged)
        return (await identity.unmerge(session, merged_id, _actor(), SystemClock().now())).id

    try:
        split = _resolving(settings, work)
    except identity.MergeError as exc:
        _fail(str(exc))
    if as_json:
        print_json({"unmerged_id": split})
        return
    typer.echo(f"已撤销合并，客户 {split} 恢复为独立档案")


def _actor() -> str:
    """Who ran the command, for the timeline and the merge record (console logins come later)"""
    return f"cli:{getpass.getuser()}"
