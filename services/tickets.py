"""Tickets T<id>: open (idempotently, or reopen, or link to a live one), claim, pending, solve, close, list, count."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import identity
from services.alerts import Alert, alert_member, quote_customer_text
from services.clock import Clock
from storage.models import Customer, Message
from storage.models_service import Ticket, TicketEvent, TicketSource, TicketStatus
from storage.repos import contacts
from storage.repos import tickets as repo
from storage.repos.tickets import TicketFilter

__all__ = ["TicketFilter", "TicketSource", "TicketStatus"]

DueFn = Callable[[datetime, timedelta], datetime]

SOURCE_TEXT: Final = {
    "handoff": "转人工",
    "low_score": "低分评价",
    "complaint": "投诉",
    "overdue": "超时未回复",
    "manual": "手动",
}
STATUS_TEXT: Final = {"open": "处理中", "pending": "挂起", "solved": "已解决", "closed": "已关闭"}
PRIORITY_TEXT: Final = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
PRIORITIES: Final = tuple(PRIORITY_TEXT)
_REF: Final = re.compile(r"^\s*[Tt]?\s*(\d{1,12})\s*$")


def wall_clock_due(start: datetime, span: timedelta) -> datetime:
    """A deadline in wall-clock time: `span` after `start`."""
    return start + span


@dataclass(frozen=True, slots=True)
class TicketPolicy:
    """What opening and changing tickets needs from config (handlers.tickets.settings builds it from Settings)."""

    on_duty: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    first_response: timedelta = timedelta(minutes=30)
    resolution: timedelta = timedelta(hours=24)
    reopen_within: timedelta = timedelta(days=7)
    reopen_sources: frozenset[str] = frozenset({TicketSource.LOW_SCORE, TicketSource.COMPLAINT})
    # bot wiring passes the business calendar (handlers/tickets/settings.py); wall-clock is for bare use and tests.
    due: DueFn = wall_clock_due


class Problem(StrEnum):
    NOT_FOUND = "not_found"
    NO_CUSTOMER = "no_customer"
    ALREADY_DONE = "already_done"
    CLOSED = "closed"
    NOT_YOURS = "not_yours"
    ALREADY = "already"
    BAD_PRIORITY = "bad_priority"


class TicketError(Exception):
    """A change that cannot be made; `message` is the Chinese answer for the rep or operator."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class Outcome(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    LINKED = "linked"  # a live ticket of the same source took the new message
    EXISTING = "existing"  # the source key was seen before: nothing changed


@dataclass(frozen=True, slots=True)
class Opened:
    ticket: Ticket
    outcome: Outcome


def label(ticket_id: int) -> str:
    return f"T{ticket_id}"


def parse_ref(text: str) -> int | None:
    """ "T123", "t123", "T 123" or "123" → 123."""
    match = _REF.match(text)
    return int(match.group(1)) if match else None


async def open_ticket(
    session: AsyncSession,
    now: datetime,
    *,
    customer_id: int,
    subject: str,
    source: TicketSource,
    priority: str = "normal",
    channel: str = "",
    chat_id: str = "",
    assignee: str | None = None,
    source_key: str | None = None,
    message_ids: Sequence[int] = (),
    policy: TicketPolicy | None = None,
    reopen_ticket_id: int | None = None,
    actor: str = "bot",
) -> Ticket:
    """Open a ticket, or reopen or extend one; see `open_or_link` (which also says which happened)."""
    opened = await open_or_link(
        session,
        now,
        customer_id=customer_id,
        subject=subject,
        source=source,
        priority=priority,
        channel=channel,
        chat_id=chat_id,
        assignee=assignee,
        source_key=source_key,
        message_ids=message_ids,
        policy=policy,
        reopen_ticket_id=reopen_ticket_id,
        actor=actor,
    )
    return opened.ticket


async def open_or_link(
    session: AsyncSession,
    now: datetime,
    *,
    customer_id: int,
    subject: str,
    source: TicketSource,
    priority: str = "normal",
    channel: str = "",
    chat_id: str = "",
    assignee: str | None = None,
    source_key: str | None = None,
    message_ids: Sequence[int] = (),
    policy: TicketPolicy | None = None,
    reopen_ticket_id: int | None = None,
    actor: str = "bot",
) -> Opened:
    """The ticket for this cause, in this order:

    1. the same `source_key` seen before (a replay): that ticket, unchanged;
    2. an automatic source (not manual) with a live (open or pending) ticket of the same source for the customer:
       the messages are linked to it (one complaint ticket per customer while one is open);
    3. `reopen_ticket_id` (the ticket a low-scored survey was about), or for a source in `policy.reopen_sources`
       the customer's latest ticket of that source, solved within `policy.reopen_within`: reopened;
    4. otherwise a new ticket, assigned to `assignee`, the customer's owner rep, or the least loaded on-duty rep,
       who is told privately.
    """
    policy = policy or TicketPolicy()
    if priority not in PRIORITY_TEXT:
        raise TicketError(Problem.BAD_PRIORITY, f"优先级只能是 {'/'.join(PRIORITIES)}")
    if source_key is not None and (seen := await _seen(session, source_key)) is not None:
        return Opened(seen, Outcome.EXISTING)
    customer = await contacts.customer_by_id(session, customer_id)
    if customer is None:
        raise TicketError(Problem.NO_CUSTOMER, f"没有 ID 为 {customer_id} 的客户")
    detail: dict[str, Any] = {"subject": subject[:500], "source": str(source)}
    if source_key is not None:
        detail["source_key"] = source_key
    if source != TicketSource.MANUAL and (live := await repo.live_of(session, customer_id, source)) is not None:
        await repo.link_messages(session, live.id, message_ids)
        await repo.add_event(session, live.id, "linked", actor, now, detail)
        live.updated_at = now
        return Opened(live, Outcome.LINKED)
    about = await repo.get(session, reopen_ticket_id, lock=True) if reopen_ticket_id is not None else None
    if about is not None and about.status in repo.LIVE:  # the ticket the cause is about is being worked on
        await repo.link_messages(session, about.id, message_ids)
        await repo.add_event(session, about.id, "linked", actor, now, detail)
        about.updated_at = now
        return Opened(about, Outcome.LINKED)
    done = await _reopenable(session, now, customer_id, source, policy, reopen_ticket_id)
    if done is not None:
        await _reopen(session, now, done, policy, actor, detail, message_ids, customer)
        return Opened(done, Outcome.REOPENED)
    owner = assignee or await _default_assignee(session, customer, policy)
    values = {
        "customer_id": customer_id,
        "subject": subject[:2000],
        "status": TicketStatus.OPEN,
        "priority": priority,
        "source": str(source),
        "assignee_userid": owner,
        "channel": channel,
        "chat_id": chat_id,
        "policy": "",
        "first_response_due_at": policy.due(now, policy.first_response),
        "resolve_due_at": policy.due(now, policy.resolution),
        "sla_stage": 0,
        "reopened": 0,
        "opened_at": now,
        "updated_at": now,
        "source_key": source_key,
    }
    new_id = await repo.insert_once(session, values)
    if new_id is None:  # another process opened it for the same key a moment ago
        assert source_key is not None
        found = await repo.by_source_key(session, source_key)
        assert found is not None
        return Opened(found, Outcome.EXISTING)
    ticket = await repo.get(session, new_id)
    assert ticket is not None
    await repo.add_event(session, new_id, "opened", actor, now, {**detail, "assignee": owner, "priority": priority})
    await repo.link_messages(session, new_id, message_ids)
    await _tell_opened(session, now, ticket, customer, policy)
    return Opened(ticket, Outcome.OPENED)


async def _seen(session: AsyncSession, source_key: str) -> Ticket | None:
    """The ticket a source key already opened, reopened or was linked to."""
    found = await repo.by_source_key(session, source_key)
    if found is not None:
        return found
    stmt = (
        select(TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_(("reopened", "linked")), TicketEvent.detail["source_key"].as_string() == source_key)
        .limit(1)
    )
    ticket_id = await session.scalar(stmt)
    return await repo.get(session, int(ticket_id)) if ticket_id is not None else None


async def _reopenable(
    session: AsyncSession,
    now: datetime,
    customer_id: int,
    source: TicketSource,
    policy: TicketPolicy,
    reopen_ticket_id: int | None,
) -> Ticket | None:
    since = now - policy.reopen_within
    if reopen_ticket_id is not None:
        ticket = await repo.get(session, reopen_ticket_id, lock=True)
        recent = ticket is not None and ticket.solved_at is not None and ticket.solved_at >= since
        if ticket is not None and ticket.status in repo.DONE and recent:
            return ticket
    if source in policy.reopen_sources:
        return await repo.latest_done_of(session, customer_id, source, since)
    return None


async def _reopen(
    session: AsyncSession,
    now: datetime,
    ticket: Ticket,
    policy: TicketPolicy,
    actor: str,
    detail: dict[str, Any],
    message_ids: Sequence[int],
    customer: Customer,
) -> None:
    previous = ticket.status
    ticket.status = TicketStatus.OPEN
    ticket.reopened += 1
    ticket.solved_at = None
    ticket.closed_at = None
    ticket.sla_stage = 0
    ticket.resolve_due_at = policy.due(now, policy.resolution)
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "reopened", actor, now, {**detail, "from": previous})
    await repo.link_messages(session, ticket.id, message_ids)
    why = SOURCE_TEXT.get(str(detail.get("source")), "")
    alert = Alert(
        title=f"工单 {label(ticket.id)} 已重新打开",
        body=f"原因：{why} · 客户：{_name(customer)} · 第 {ticket.reopened} 次重开\n{_subject_line(detail['subject'])}",
    )
    for userid in _recipients(ticket.assignee_userid, policy):
        await alert_member(session, now, userid, alert, key=f"ticket:{ticket.id}:reopened:{ticket.reopened}:{userid}")


async def _default_assignee(session: AsyncSession, customer: Customer, policy: TicketPolicy) -> str | None:
    root = await identity.root_of(session, customer)
    if root.owner_userid:
        return root.owner_userid
    if not policy.on_duty:
        return None
    load = await repo.live_counts(session, policy.on_duty)
    return min(policy.on_duty, key=lambda userid: (load.get(userid, 0), policy.on_duty.index(userid)))


def _recipients(assignee: str | None, policy: TicketPolicy) -> list[str]:
    """The assignee; with nobody assigned, the managers, so an unowned ticket is never silent."""
    return [assignee] if assignee else list(policy.managers)


def _name(customer: Customer) -> str:
    return quote_customer_text(customer.name, 40).strip("「」") or f"客户{customer.id}"


def _subject_line(subject: str) -> str:
    return f"内容：{quote_customer_text(subject, 200)}" if subject.strip() else ""


async def _tell_opened(
    session: AsyncSession, now: datetime, ticket: Ticket, customer: Customer, policy: TicketPolicy
) -> None:
    ref = label(ticket.id)
    body = "\n".join(
        line
        for line in (
            f"来源：{SOURCE_TEXT.get(ticket.source, ticket.source)} · 优先级：{PRIORITY_TEXT[ticket.priority]}"
            f" · 客户：{_name(customer)}",
            _subject_line(ticket.subject),
            f"回复「认领 {ref}」认领，「解决 {ref}」标记解决，「挂起 {ref}」挂起。",
        )
        if line
    )
    title = f"新工单 {ref}" + ("（待分配）" if not ticket.assignee_userid else "")
    for userid in _recipients(ticket.assignee_userid, policy):
        await alert_member(
            session, now, userid, Alert(title=title, body=body), key=f"ticket:{ticket.id}:opened:{userid}"
        )


# ---- changes by reps, the CLI and jobs ---------------------------------------------------------------------------


async def _live(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await repo.get(session, ticket_id, lock=True)
    if ticket is None:
        raise TicketError(Problem.NOT_FOUND, f"没有找到工单 {label(ticket_id)}")
    if ticket.status == TicketStatus.CLOSED:
        raise TicketError(Problem.CLOSED, f"工单 {label(ticket_id)} 已关闭")
    if ticket.status == TicketStatus.SOLVED:
        raise TicketError(Problem.ALREADY_DONE, f"工单 {label(ticket_id)} 已解决")
    return ticket


def _check_owner(ticket: Ticket, by: str, policy: TicketPolicy, force: bool) -> None:
    """Only the assignee (or a manager, or the CLI without --by) changes an assigned ticket."""
    if force or not ticket.assignee_userid or ticket.assignee_userid == by or by in policy.managers:
        return
    raise TicketError(
        Problem.NOT_YOURS,
        f"工单 {label(ticket.id)} 由 {ticket.assignee_userid} 负责，不是你的；"
        f"如需接手请先回复「认领 {label(ticket.id)}」",
    )


async def claim(
    session: AsyncSession, now: datetime, ticket_id: int, userid: str, *, policy: TicketPolicy | None = None
) -> Ticket:
    """`userid` takes the ticket (from nobody, or over from a colleague, who is told)."""
    policy = policy or TicketPolicy()
    ticket = await _live(session, ticket_id)
    previous = ticket.assignee_userid
    if previous == userid:
        raise TicketError(Problem.ALREADY, f"工单 {label(ticket_id)} 已经由你负责")
    ticket.assignee_userid = userid
    ticket.first_responded_at = ticket.first_responded_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "claimed", userid, now, {"from": previous})
    if previous:
        alert = Alert(title=f"工单 {label(ticket.id)} 已被 {userid} 认领", body="该工单已转由对方负责。")
        await alert_member(session, now, previous, alert, key=f"ticket:{ticket.id}:claimed:{userid}:{now.isoformat()}")
    return ticket


async def set_pending(
    session: AsyncSession,
    now: datetime,
    ticket_id: int,
    by: str,
    *,
    policy: TicketPolicy | None = None,
    force: bool = False,
) -> Ticket:
    """Waiting on the customer or a third party: open → pending."""
    policy = policy or TicketPolicy()
    ticket = await _live(session, ticket_id)
    _check_owner(ticket, by, policy, force)
    if ticket.status == TicketStatus.PENDING:
        raise TicketError(Problem.ALREADY, f"工单 {label(ticket_id)} 已经是挂起状态")
    ticket.status = TicketStatus.PENDING
    ticket.assignee_userid = ticket.assignee_userid or (None if force else by)
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "pending", by, now)
    return ticket


async def solve(
    session: AsyncSession,
    now: datetime,
    ticket_id: int,
    by: str,
    *,
    policy: TicketPolicy | None = None,
    force: bool = False,
    note: str = "",
) -> Ticket:
    """open or pending → solved; it closes by itself `auto_close_days` later unless reopened."""
    policy = policy or TicketPolicy()
    ticket = await _live(session, ticket_id)
    _check_owner(ticket, by, policy, force)
    ticket.status = TicketStatus.SOLVED
    ticket.solved_at = now
    ticket.assignee_userid = ticket.assignee_userid or (None if force else by)
    ticket.first_responded_at = ticket.first_responded_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "solved", by, now, {"note": note[:500]} if note else {})
    return ticket


async def close(session: AsyncSession, now: datetime, ticket_id: int, by: str) -> Ticket:
    """Close a ticket by hand, from any status but closed."""
    ticket = await repo.get(session, ticket_id, lock=True)
    if ticket is None:
        raise TicketError(Problem.NOT_FOUND, f"没有找到工单 {label(ticket_id)}")
    if ticket.status == TicketStatus.CLOSED:
        raise TicketError(Problem.CLOSED, f"工单 {label(ticket_id)} 已关闭")
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.solved_at = ticket.solved_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "closed", by, now)
    return ticket


async def close_solved(session: AsyncSession, now: datetime, after: timedelta, batch: int = 500) -> int:
    """The scheduled job: close tickets solved at least `after` ago; how many it closed."""
    total = 0
    while True:
        due = await repo.solved_before(session, now - after, batch)
        closed = await repo.close_many(session, due, now)
        for ticket_id in closed:
            await repo.add_event(session, ticket_id, "closed", "bot", now, {"auto": True})
        total += len(closed)
        if len(due) < batch:
            return total


# ---- reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    ref: str
    customer_id: int
    customer_name: str
    subject: str
    status: str
    priority: str
    source: str
    assignee: str | None
    channel: str
    chat_id: str
    reopened: int
    opened_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    first_response_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            name: (value.isoformat() if isinstance(value, datetime) else value)
            for name, value in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }


def _view(ticket: Ticket, customer_name: str, now: datetime) -> TicketView:
    live = ticket.status in repo.LIVE
    overdue = ticket.resolve_due_at is not None and live and ticket.resolve_due_at < now
    return TicketView(
        id=ticket.id,
        ref=label(ticket.id),
        customer_id=ticket.customer_id,
        customer_name=customer_name,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        source=ticket.source,
        assignee=ticket.assignee_userid,
        channel=ticket.channel,
        chat_id=ticket.chat_id,
        reopened=ticket.reopened,
        opened_at=ticket.opened_at,
        solved_at=ticket.solved_at,
        closed_at=ticket.closed_at,
        first_response_due_at=ticket.first_response_due_at,
        resolve_due_at=ticket.resolve_due_at,
        overdue=overdue,
    )


async def _names(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    rows = await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(sorted(set(customer_ids)))))
    return {int(i): str(n or "") for i, n in rows.all()}


async def list_tickets(session: AsyncSession, filters: TicketFilter, now: datetime) -> list[TicketView]:
    """Tickets matching `filters`, newest first, with the customer's name and whether they are overdue."""
    found = await repo.find(session, filters)
    names = await _names(session, [t.customer_id for t in found])
    return [_view(t, names.get(t.customer_id, ""), now) for t in found]


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketView
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket.to_dict(), "events": self.events, "messages": self.messages}


async def show_ticket(session: AsyncSession, ticket_id: int, now: datetime) -> TicketDetail | None:
    ticket = await repo.get(session, ticket_id)
    if ticket is None:
        return None
    names = await _names(session, [ticket.customer_id])
    events = [
        {"kind": e.kind, "actor": e.actor, "at": e.occurred_at.isoformat(), "detail": e.detail}
        for e in await repo.events_of(session, ticket_id)
    ]
    ids = await repo.message_ids_of(session, ticket_id)
    said = (await session.execute(select(Message).where(Message.id.in_(ids)).order_by(Message.sent_at))).scalars()
    messages = [
        {"id": m.id, "channel": m.channel, "chat_id": m.chat_id, "at": m.sent_at.isoformat(), "text": m.text}
        for m in said
    ]
    return TicketDetail(_view(ticket, names.get(ticket.customer_id, ""), now), events, messages)


@dataclass(frozen=True, slots=True)
class TicketCounts:
    """Tickets in [start, end): opened (by status now and by source), solved, reopened, SLA breaches."""

    start: datetime
    end: datetime
    opened: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    solved: int
    reopened: int
    # Resolution deadlines that fell in the period and were missed (solved late or not solved by the deadline).
    overdue: int
    # Open or pending tickets past their resolution deadline at `end`.
    overdue_open: int
    avg_resolution_h: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opened": self.opened,
            "by_status": dict(self.by_status),
            "by_source": dict(self.by_source),
            "solved": self.solved,
            "reopened": self.reopened,
            "overdue": self.overdue,
            "overdue_open": self.overdue_open,
            "avg_resolution_h": self.avg_resolution_h,
        }


async def ticket_counts(
    session: AsyncSession, start: datetime, end: datetime, now: datetime | None = None
) -> TicketCounts:
    """Counts for [start, end); a deadline after `now` (default `end`) has not been missed yet."""
    cutoff = min(end, now) if now is not None else end
    opened = await repo.opened_between(session, start, end)
    by_status = {str(s): 0 for s in TicketStatus}
    by_source = {str(s): 0 for s in TicketSource}
    for t in opened:
        by_status[t.status] = by_status.get(t.status, 0) + 1
        by_source[t.source] = by_source.get(t.source, 0) + 1
    solved = await repo.solved_between(session, start, end)
    hours = [(t.solved_at - t.opened_at).total_seconds() / 3600 for t in solved if t.solved_at is not None]
    due = await repo.due_between(session, start, end)
    missed = sum(
        1
        for t in due
        if t.resolve_due_at is not None
        and t.resolve_due_at < cutoff
        and (t.solved_at is None or t.solved_at > t.resolve_due_at)
    )
    return TicketCounts(
        start=start,
        end=end,
        opened=len(opened),
        by_status=by_status,
        by_source=by_source,
        solved=len(solved),
        reopened=await repo.event_count(session, "reopened", start, end),
        overdue=missed,
        overdue_open=await repo.overdue_at(session, cutoff),
        avg_resolution_h=round(sum(hours) / len(hours), 2) if hours else None,
    )


async def auto_close_job(sessions: async_sessionmaker[AsyncSession], clock: Clock, after: timedelta) -> int:
    """The scheduled job body: close tickets solved `after` ago, in one transaction."""
    async with sessions() as session, session.begin():
        return await close_solved(session, clock.now(), after)
