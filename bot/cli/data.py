"""CLI commands over Qunke's own data: `events list|retry` and `customer list|show|merge|unmerge`."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.choices import INBOX_TEXT, pick, truncation_note
from bot.cli.output import local, print_json
from bot.config.settings import Settings, load_settings
from services.access.viewer_reads import check_customer, customers_in_scope
from services.clock import SystemClock
from services.customers import identity
from services.customers.profiles import CustomerProfile, CustomerSummary, customer_profile, list_customers
from services.customers.refs import UnknownCustomer, resolve_customer, resolve_customer_id
from storage.db import create_db_engine, make_sessionmaker
from storage.models.inbox import InboundEvent
from storage.repos import contacts, inbound

events_app = typer.Typer(no_args_is_help=True, help="收到的回调事件 (inbound callbacks in the inbox)")
customer_app = typer.Typer(no_args_is_help=True, help="客户与客户时间线 (customers and their timelines)")
console = Console()
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON (machine-readable output)")]
STATUS_TEXT = {"contact": "联系人", "lost": "已流失", "group_only": "仅群成员"}
SIDE_TEXT = {"customer": "客户", "member": "员工", "bot": "机器人", "system": "系统"}
NPS_TEXT = {"promoter": "推荐者", "passive": "中立者", "detractor": "贬损者"}


def with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_db_engine(settings.database.url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


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
        str, typer.Argument(help="The customer's ID (from `customer list`), external_userid or openid.")
    ],
    page: Annotated[int, typer.Option(min=1, help="Timeline page: 1 is the newest entries, 2 the ones before.")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Timeline entries per page.")] = 50,
    since: Annotated[
        str | None, typer.Option(help="Only entries at or after YYYY-MM-DD[THH:MM] (business zone).")
    ] = None,
    as_json: JsonFlag = False,
    as_user: AsUser = None,
) -> None:
    """A customer's profile, scores and one page of the whole timeline, newest last."""
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
    _print_profile(profile, settings.timezone)


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


def _print_profile(p: CustomerProfile, zone: str) -> None:
    console.print(f"[bold]{escape(p.name or '(无昵称)')}[/bold]  ID {p.id}  {p.external_userid or ''}")
    console.print(
        f"负责人：{p.owner_name or '-'}   状态：{STATUS_TEXT.get(p.status, p.status)}   "
        f"首次出现：{local(p.first_seen_at, zone)}   成为联系人：{local(p.became_contact_at, zone)}"
        + (f"   流失：{local(p.lost_at, zone)}" if p.lost_at else "")
    )
    console.print(Text(_scores_line(p.scores)))
    if p.scores.get("churn_reasons"):
        console.print(Text("流失原因：" + "；".join(str(r) for r in p.scores["churn_reasons"])))
    if p.attributes:
        console.print(Text("属性：" + "，".join(f"{k}={v}" for k, v in p.attributes.items())))
    if p.opted_out:
        console.print("已退订营销消息")
    if p.tags:
        console.print("标签：" + "、".join(f"{t['group']}/{t['tag']}" if t["group"] else t["tag"] for t in p.tags))
    if p.groups:
        console.print("所在群：" + "、".join(str(g["name"] or g["chat_id"]) for g in p.groups))
    if p.oa_openid:
        console.print(f"公众号 openid：{p.oa_openid}")
    if p.merged:
        console.print("已合并的档案：" + "、".join(f"{m['name'] or '(无昵称)'}（ID {m['id']}）" for m in p.merged))
    if p.requested_id is not None:
        console.print(f"[yellow]客户 {p.requested_id} 已合并到本档案（ID {p.id}）[/yellow]")
    title = (
        f"时间线：共 {p.timeline_total} 条，第 {p.timeline_page}/{max(p.timeline_pages, 1)} 页"
        f"（每页 {p.timeline_limit} 条，第 1 页最新，最新在最后）"
    )
    table = Table("时间", "方", "渠道 / 会话", "谁", "内容", title=title)
    for item in p.timeline:
        side = SIDE_TEXT.get(item.side, item.side)
        if item.kind == "message":
            # Customer text is untrusted: never let rich interpret it as markup.
            table.add_row(
                local(item.at, zone),
                side,
                Text(item.chat_name or ""),
                Text(item.sender_name or ""),
                Text(item.text, style="dim strike" if item.recalled else ""),
            )
        else:
            table.add_row(local(item.at, zone), side, "", "", Text(item.text, style="cyan"))
    console.print(table)
    if p.timeline_page < p.timeline_pages:
        console.print(f"更早的记录：qunke customer show {p.id} --page {p.timeline_page + 1}")


def _scores_line(scores: dict[str, Any]) -> str:
    csat = f"{scores['csat']}/5" if scores.get("csat") is not None else "-"
    nps = "-"
    if scores.get("nps") is not None:
        nps = f"{scores['nps']}/10（{NPS_TEXT.get(str(scores.get('nps_category')), '')}）"
    risk = scores.get("churn_risk")
    churn = "-" if risk is None else f"{risk:.0%}" + ("（预警）" if scores.get("churn_at_risk") else "")
    tier = scores.get("rfm_tier") or "-"
    return f"满意度 CSAT：{csat}   推荐意愿 NPS：{nps}   流失风险：{churn}   RFM：{tier}"


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
