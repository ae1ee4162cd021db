"""CLI over tickets: `ticket open|list|show|claim|solve|pending|close` (the same services the rep commands use)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.data import JsonFlag, with_session
from bot.cli.output import local, print_json
from bot.config import Settings, load_settings
from handlers.tickets.settings import survey_policy, ticket_policy
from services import survey_triggers, ticket_changes, ticket_text, ticket_views, tickets
from services.clock import SystemClock
from services.customer_refs import UnknownCustomer, resolve_customer
from services.ticket_text import PRIORITY_TEXT, SOURCE_TEXT, STATUS_TEXT
from services.ticket_views import TicketFilter
from services.tickets import TicketError, TicketSource

ticket_app = typer.Typer(no_args_is_help=True, help="Tickets T<id>: open, list, show, claim, solve.")
console = Console()
T = TypeVar("T")

Ref = Annotated[str, typer.Argument(help="The ticket: T123 or 123.")]
By = Annotated[str | None, typer.Option("--by", help="Act as this member (userid); without it, as the operator.")]


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
    customer: Annotated[str, typer.Argument(help="ID (from `customer list`), external_userid or OA openid.")],
    subject: Annotated[str, typer.Argument(help="What the ticket is about.")],
    priority: Annotated[str, typer.Option(help="low, normal, high or urgent.")] = "normal",
    assignee: Annotated[str | None, typer.Option(help="Member userid; default the owner rep or on duty.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a ticket by hand; the assignee is told privately in WeCom."""
    settings = load_settings()
    now = SystemClock().now()

    async def work(session: AsyncSession) -> dict[str, Any]:
        try:
            found = await resolve_customer(session, customer)
        except UnknownCustomer as exc:
            raise TicketError(tickets.Problem.NO_CUSTOMER, str(exc)) from None
        ticket = await tickets.open_ticket(
            session,
            now,
            customer_id=found.id,
            subject=subject,
            source=TicketSource.MANUAL,
            priority=priority,
            assignee=assignee,
            policy=ticket_policy(settings),
            actor="cli",
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
    status: Annotated[list[str] | None, typer.Option(help="open, pending, solved, closed (repeatable).")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only this member's tickets.")] = None,
    source: Annotated[str | None, typer.Option(help="handoff, low_score, complaint, overdue, manual.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 100,
) -> None:
    """Tickets, newest first, with status, source, assignee and whether they are overdue."""
    settings = load_settings()
    filters = TicketFilter(status=tuple(status or ()), assignee=assignee, source=source, limit=limit)
    rows = with_session(settings, lambda s: ticket_views.list_tickets(s, filters, SystemClock().now()))
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


@ticket_app.command("show")
def ticket_show(ref: Ref, as_json: JsonFlag = False) -> None:
    """One ticket with its history and linked messages."""
    settings = load_settings()
    ticket_id = _ticket_id(ref)
    detail = with_session(settings, lambda s: ticket_views.show_ticket(s, ticket_id, SystemClock().now()))
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
        f"重开：{v.reopened} 次   解决期限：{local(v.resolve_due_at, settings.timezone)}"
    )
    for e in detail.events:
        console.print(Text(f"  {e['at'][:19]}  {e['kind']}  {e['actor']}"))
    for m in detail.messages:
        console.print(Text(f"  💬 {m['at'][:19]}  {m['text']}"))


def _change(ref: str, by: str | None, verb: str) -> None:
    settings = load_settings()
    ticket_id = _ticket_id(ref)
    now = SystemClock().now()
    actor = by or "cli"

    async def work(session: AsyncSession) -> str:
        tp = ticket_policy(settings)
        if verb == "claim":
            if by is None:
                raise TicketError(tickets.Problem.NOT_YOURS, "认领需要 --by 指定成员")
            await ticket_changes.claim(session, now, ticket_id, by, policy=tp)
            return f"{by} 已认领工单 T{ticket_id}"
        if verb == "pending":
            await ticket_changes.set_pending(session, now, ticket_id, actor, policy=tp, force=by is None)
            return f"工单 T{ticket_id} 已挂起"
        if verb == "close":
            await ticket_changes.close(session, now, ticket_id, actor)
            return f"工单 T{ticket_id} 已关闭"
        _, survey = await survey_triggers.solve_and_ask(
            session, now, ticket_id, actor, ticket_policy=tp, survey_policy=survey_policy(settings), force=by is None
        )
        return f"工单 T{ticket_id} 已解决" + ("，已向客户发送满意度评价" if survey is not None else "")

    typer.echo(_run(settings, work))


@ticket_app.command("claim")
def ticket_claim(ref: Ref, by: By = None) -> None:
    """A member takes the ticket (--by is required)."""
    _change(ref, by, "claim")


@ticket_app.command("solve")
def ticket_solve(ref: Ref, by: By = None) -> None:
    """Mark solved and ask the customer for a score; with --by only the assignee or a manager may."""
    _change(ref, by, "solve")


@ticket_app.command("pending")
def ticket_pending(ref: Ref, by: By = None) -> None:
    """Waiting on the customer or a third party."""
    _change(ref, by, "pending")


@ticket_app.command("close")
def ticket_close(ref: Ref, by: By = None) -> None:
    """Close now (solved tickets also close by themselves after tickets.auto_close_days)."""
    _change(ref, by, "close")
