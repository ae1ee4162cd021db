"""CLI over tickets: `ticket open|list|show|claim|solve|pending|close|reopen|reply` (the rep commands' services)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.as_user import AsUser, run_as, viewer_of
from bot.cli.choices import pick, pick_all, truncation_note
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.cli.ticket_timeline import ticket_timeline
from bot.config.settings import Settings, load_settings
from bot.policies import relay_rules, survey_policy, ticket_policy
from services.access.viewer_reads import can_read_ticket, tickets_in_scope
from services.clock import SystemClock
from services.customers.refs import UnknownCustomer, resolve_customer
from services.surveys import triggers as survey_triggers
from services.tickets import changes as ticket_changes
from services.tickets import opening as tickets
from services.tickets import text as ticket_text
from services.tickets import views as ticket_views
from services.tickets.opening import TicketError, TicketSource
from services.tickets.relay import relay_reply
from services.tickets.text import PRIORITY_TEXT, SOURCE_TEXT, STATUS_TEXT
from services.tickets.views import TicketFilter
from storage.repos import contacts
from storage.repos import tickets as tickets_repo

ticket_app = typer.Typer(no_args_is_help=True, help="工单 T<id>：开单、列表、查看、认领、解决 (tickets)")
console = Console()
T = TypeVar("T")

Ref = Annotated[str, typer.Argument(help="工单号 T123 或 123 (the ticket)")]
By = Annotated[
    str | None,
    typer.Option("--by", help="以此成员身份操作（userid，须为已知成员）；不填则以管理员身份 (act as this member)"),
]


def _ticket_id(ref: str) -> int:
    found = ticket_text.parse_ref(ref)
    if found is None:
        _fail(f"工单号应为 T123 或 123，收到「{ref}」 (expected T123 or 123)")
    assert found is not None
    return found


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction; a TicketError is the operator's answer, exit 1, nothing written."""
    try:
        return with_session(settings, work)
    except TicketError as exc:
        _fail(f"{exc.message} ({exc.problem.value})")
        raise AssertionError("unreachable") from None


@ticket_app.command("open")
def ticket_open(
    customer: Annotated[
        str, typer.Argument(help="客户：ID（见 `customer list`）、external_userid 或 openid (the customer)")
    ],
    subject: Annotated[str, typer.Argument(help="工单内容 (what it is about)")],
    priority: Annotated[
        str, typer.Option(help="优先级 (priority): low/低, normal/普通, high/高, urgent/紧急")
    ] = "normal",
    assignee: Annotated[str | None, typer.Option(help="负责人 userid，默认客户的负责人或值班客服 (assignee)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """手动开工单，负责人会在企业微信里收到通知 (open a ticket)"""
    settings = load_settings()
    now = SystemClock().now()
    priority = pick(priority, PRIORITY_TEXT, "--priority") or "normal"

    async def work(session: AsyncSession) -> dict[str, Any]:
        try:
            found = await resolve_customer(session, customer)
        except UnknownCustomer as exc:
            raise TicketError(tickets.Problem.NO_CUSTOMER, str(exc)) from None
        await _require_member(session, assignee, "--assignee")
        ticket = await tickets.open_ticket(
            session,
            now,
            tickets.TicketRequest(
                customer_id=found.id,
                subject=subject,
                source=TicketSource.MANUAL,
                priority=priority,
                assignee=assignee,
                policy=ticket_policy(settings),
                actor="cli",
            ),
        )
        return {"id": ticket.id, "ref": ticket_text.label(ticket.id), "assignee": ticket.assignee_userid}

    opened = _run(settings, work)
    if as_json:
        print_json(opened)
        return
    typer.echo(f"已开工单 {opened['ref']}，负责人：{opened['assignee'] or '待分配'}")


@ticket_app.command("list")
def ticket_list(
    as_json: JsonFlag = False,
    status: Annotated[
        list[str] | None,
        typer.Option(help="状态，可重复 (repeatable): open/处理中, pending/挂起, solved/已解决, closed/已关闭"),
    ] = None,
    assignee: Annotated[str | None, typer.Option(help="只看此成员的工单 (member userid)")] = None,
    source: Annotated[
        str | None,
        typer.Option(help="来源 (source): handoff/转人工, low_score/低分评价, complaint/投诉, overdue, manual"),
    ] = None,
    limit: Annotated[int, typer.Option(help="最多显示几条，最新在前 (newest first)")] = 100,
    as_user: AsUser = None,
) -> None:
    """工单列表：状态、来源、负责人、是否超时 (tickets, newest first)"""
    settings = load_settings()
    filters = TicketFilter(
        status=pick_all(status, STATUS_TEXT, "--status"),
        assignee=assignee,
        source=pick(source, SOURCE_TEXT, "--source"),
        limit=limit,
    )

    async def listed(session: AsyncSession) -> tuple[list[ticket_views.TicketView], int]:
        if as_user is not None:
            return await tickets_in_scope(session, await viewer_of(session, as_user), filters, SystemClock().now())
        return await ticket_views.list_tickets(session, filters, SystemClock().now()), await tickets_repo.count(
            session, filters
        )

    rows, total = run_as(settings, listed)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table("工单", "状态", "优先级", "来源", "客户", "负责人", "打开时间", "内容")
    for r in rows:
        state = STATUS_TEXT.get(r.status, r.status) + ("（超时）" if r.overdue else "")
        table.add_row(
            r.ref,
            state,
            PRIORITY_TEXT.get(r.priority, r.priority),
            SOURCE_TEXT.get(r.source, r.source),
            Text(r.customer_name or str(r.customer_id)),
            r.assignee or "-",
            local(r.opened_at, settings.timezone),
            Text(r.subject[:40]),
        )
    console.print(table)
    truncation_note(len(rows), total)


@ticket_app.command("show")
def ticket_show(ref: Ref, as_json: JsonFlag = False, as_user: AsUser = None) -> None:
    """查看一张工单：经过与关联消息，按时间排列 (one ticket)"""
    settings = load_settings()
    ticket_id = _ticket_id(ref)

    async def shown(session: AsyncSession) -> ticket_views.TicketDetail | None:
        if not await can_read_ticket(session, await viewer_of(session, as_user), ticket_id):
            return None  # another rep's ticket reads as a missing one, as the console's 404
        return await ticket_views.show_ticket(session, ticket_id, SystemClock().now())

    detail = run_as(settings, shown)
    if detail is None:
        _fail(f"没有找到工单 T{ticket_id} (no ticket T{ticket_id})")
    assert detail is not None
    if as_json:
        print_json(detail.to_dict())
        return
    v = detail.ticket
    console.print(Text(f"{v.ref}  {STATUS_TEXT.get(v.status, v.status)}  {v.subject}"))
    console.print(
        f"客户：{v.customer_name or v.customer_id}   负责人：{v.assignee or '-'}   "
        f"来源：{SOURCE_TEXT.get(v.source, v.source)}   优先级：{PRIORITY_TEXT.get(v.priority, v.priority)}   "
        f"重开：{v.reopened} 次   解决期限：{local(v.resolve_due_at, settings.timezone)}   （时区 {settings.timezone}）"
    )
    for line in ticket_timeline(detail.events, detail.messages, settings.timezone):
        console.print(Text(line))


async def _require_member(session: AsyncSession, userid: str | None, option: str = "--by") -> None:
    """A userid on the command line must be a member WeCom told us about; a typo must not own a ticket."""
    if userid is not None and not await contacts.members_by_ids(session, [userid]):
        raise TicketError(tickets.Problem.NO_MEMBER, f"{option}：没有成员「{userid}」（成员来自企业微信通讯录）")


def _change(ref: str, by: str | None, verb: str) -> None:
    settings = load_settings()
    ticket_id = _ticket_id(ref)
    now = SystemClock().now()
    actor = by or "cli"

    async def work(session: AsyncSession) -> str:
        tp = ticket_policy(settings)
        await _require_member(session, by)
        if verb == "claim":
            if by is None:
                raise TicketError(tickets.Problem.NOT_YOURS, "认领需要 --by 指定成员")
            await ticket_changes.claim(session, now, ticket_id, by, policy=tp)
            return f"{by} 已认领工单 T{ticket_id}"
        if verb == "pending":
            await ticket_changes.set_pending(session, now, ticket_id, actor, policy=tp, force=by is None)
            return f"工单 T{ticket_id} 已挂起"
        if verb == "reopen":
            await ticket_changes.reopen(session, now, ticket_id, actor, policy=tp)
            return f"工单 T{ticket_id} 已重新打开"
        if verb == "close":
            await ticket_changes.close(session, now, ticket_id, actor)
            return f"工单 T{ticket_id} 已关闭"
        _, survey = await survey_triggers.solve_and_ask(
            session, now, ticket_id, actor, ticket_policy=tp, survey_policy=survey_policy(settings), force=by is None
        )
        if survey is None:
            return f"工单 T{ticket_id} 已解决"
        where = {"kf": "机器人已在微信客服会话中向客户发送满意度评价", "oa": "机器人已在公众号中向客户发送满意度评价"}
        return f"工单 T{ticket_id} 已解决，" + where.get(
            survey.channel, "已提醒负责人邀请客户评分（机器人无法在群聊或单聊发言）"
        )

    typer.echo(_run(settings, work))


@ticket_app.command("claim")
def ticket_claim(ref: Ref, by: By = None) -> None:
    """成员认领工单，须用 --by (a member takes the ticket)"""
    _change(ref, by, "claim")


@ticket_app.command("solve")
def ticket_solve(ref: Ref, by: By = None) -> None:
    """标记解决并请客户评分；用 --by 时只有负责人或管理者可以 (solve)"""
    _change(ref, by, "solve")


@ticket_app.command("pending")
def ticket_pending(ref: Ref, by: By = None) -> None:
    """挂起：等待客户或第三方 (pending)"""
    _change(ref, by, "pending")


@ticket_app.command("close")
def ticket_close(ref: Ref, by: By = None) -> None:
    """立即关闭；已解决的工单也会在 tickets.auto_close_days 后自动关闭 (close)"""
    _change(ref, by, "close")


@ticket_app.command("reply")
def ticket_reply(
    ref: Ref,
    text: Annotated[str, typer.Argument(help="发给客户的内容 (the words for the customer)")],
    by: Annotated[str, typer.Option("--by", help="以此成员的名义回复（userid，必填）(the member whose reply it is)")],
) -> None:
    """通过公众号回复工单的客户，与应用里的「回复 T12 …」相同 (reply to an OA follower)"""
    settings = load_settings()
    ticket_id = _ticket_id(ref)
    now = SystemClock().now()
    key = f"cli:{by}:{ticket_id}:{now.isoformat()}"

    async def work(session: AsyncSession) -> str:
        await _require_member(session, by)
        relayed = await relay_reply(session, now, by, ticket_id, text.strip(), key, relay_rules(settings))
        if not relayed.sent:
            raise TicketError(tickets.Problem.NOT_SENT, relayed.message)
        return relayed.message

    typer.echo(_run(settings, work))


@ticket_app.command("reopen")
def ticket_reopen(ref: Ref, by: By = None) -> None:
    """重新打开已解决或已关闭的工单；公众号转人工的粉丝会重新由人工跟进 (reopen)"""
    _change(ref, by, "reopen")
