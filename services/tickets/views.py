"""Reading tickets: lists with overdue flags, one ticket with its history and messages, and counts for reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tickets.text import label
from storage.models.customers import Customer
from storage.models.messages import Message
from storage.models.tickets import Ticket, TicketSource, TicketStatus
from storage.repos import tickets as repo
from storage.repos.tickets import TicketFilter

__all__ = ["TicketFilter"]


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
