"""Tickets, their history (`ticket_events`) and linked messages (`ticket_messages`): intent-named queries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.tickets import Ticket, TicketEvent, TicketMessage, TicketStatus

LIVE = (TicketStatus.OPEN, TicketStatus.PENDING)
DONE = (TicketStatus.SOLVED, TicketStatus.CLOSED)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if dialect_of(session) == "postgresql" else sqlite_insert


async def get(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    """One ticket; `lock` takes its row lock on PostgreSQL so two reps cannot both change it at once."""
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if lock and dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_source_key(session: AsyncSession, source_key: str) -> Ticket | None:
    return (await session.execute(select(Ticket).where(Ticket.source_key == source_key))).scalar_one_or_none()


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a ticket unless its source key exists; the new id, or None when a replay found it."""
    stmt = _insert(session)(Ticket).values(**values).on_conflict_do_nothing().returning(Ticket.id)
    found = (await session.execute(stmt)).scalar_one_or_none()
    return int(found) if found is not None else None


async def live_of(session: AsyncSession, customer_id: int, sources: Sequence[str]) -> Ticket | None:
    """The customer's oldest open or pending ticket of one of these sources (where a new complaint is linked)."""
    stmt = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.source.in_(sources), Ticket.status.in_(LIVE))
        .order_by(Ticket.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_done_of(session: AsyncSession, customer_id: int, source: str, solved_since: datetime) -> Ticket | None:
    """The customer's most recent solved or closed ticket of this source, solved at or after `solved_since`."""
    stmt = (
        select(Ticket)
        .where(
            Ticket.customer_id == customer_id,
            Ticket.source == source,
            Ticket.status.in_(DONE),
            Ticket.solved_at >= solved_since,
        )
        .order_by(Ticket.solved_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def live_counts(session: AsyncSession, userids: Collection[str]) -> dict[str, int]:
    """Open and pending tickets per member, to give new ones to the least loaded."""
    if not userids:
        return {}
    stmt = (
        select(Ticket.assignee_userid, func.count())
        .where(Ticket.assignee_userid.in_(sorted(userids)), Ticket.status.in_(LIVE))
        .group_by(Ticket.assignee_userid)
    )
    return {str(u): int(n) for u, n in (await session.execute(stmt)).all()}


async def add_event(
    session: AsyncSession, ticket_id: int, kind: str, actor: str, at: datetime, detail: dict[str, Any] | None = None
) -> None:
    session.add(TicketEvent(ticket_id=ticket_id, kind=kind, actor=actor, detail=detail or {}, occurred_at=at))
    await session.flush()


async def link_messages(session: AsyncSession, ticket_id: int, message_ids: Sequence[int]) -> int:
    """Link timeline messages to the ticket once each; how many were new."""
    ids = sorted(set(message_ids))
    if not ids:
        return 0
    stmt = (
        _insert(session)(TicketMessage)
        .values([{"ticket_id": ticket_id, "message_id": m} for m in ids])
        .on_conflict_do_nothing()
        .returning(TicketMessage.message_id)
    )
    return len((await session.execute(stmt)).all())


async def events_of(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    stmt = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.occurred_at, TicketEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def message_ids_of(session: AsyncSession, ticket_id: int) -> list[int]:
    stmt = (
        select(TicketMessage.message_id).where(TicketMessage.ticket_id == ticket_id).order_by(TicketMessage.message_id)
    )
    return [int(m) for m in (await session.execute(stmt)).scalars()]


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: Sequence[str] = ()
    assignee: str | None = None
    customer_id: int | None = None
    source: str | None = None
    limit: int = 100


async def find(session: AsyncSession, f: TicketFilter, scope: ColumnElement[bool] | None = None) -> list[Ticket]:
    """Tickets matching the filter (and `scope`, a viewer's WHERE clause), newest first."""
    stmt = _matching(select(Ticket), f).order_by(Ticket.id.desc()).limit(f.limit)
    if scope is not None:
        stmt = stmt.where(scope)
    return list((await session.execute(stmt)).scalars())


async def count(session: AsyncSession, f: TicketFilter, scope: ColumnElement[bool] | None = None) -> int:
    """How many tickets match the filter (and `scope`), ignoring its limit."""
    stmt = _matching(select(func.count()).select_from(Ticket), f)
    return int(await session.scalar(stmt if scope is None else stmt.where(scope)) or 0)


def _matching(stmt: Select[Any], f: TicketFilter) -> Select[Any]:
    if f.status:
        stmt = stmt.where(Ticket.status.in_(list(f.status)))
    if f.assignee is not None:
        stmt = stmt.where(Ticket.assignee_userid == f.assignee)
    if f.customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == f.customer_id)
    if f.source is not None:
        stmt = stmt.where(Ticket.source == f.source)
    return stmt


async def solved_before(session: AsyncSession, cutoff: datetime, limit: int) -> list[int]:
    """Solved tickets whose solving is older than `cutoff`: due to close."""
    stmt = (
        select(Ticket.id)
        .where(Ticket.status == TicketStatus.SOLVED, Ticket.solved_at <= cutoff)
        .order_by(Ticket.id)
        .limit(limit)
    )
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def close_many(session: AsyncSession, ids: Sequence[int], now: datetime) -> list[int]:
    """Close the still-solved tickets among `ids` (a rep may have reopened one meanwhile); the ids closed."""
    if not ids:
        return []
    stmt = (
        update(Ticket)
        .where(Ticket.id.in_(list(ids)), Ticket.status == TicketStatus.SOLVED)
        .values(status=TicketStatus.CLOSED, closed_at=now, updated_at=now)
        .returning(Ticket.id)
    )
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def opened_between(session: AsyncSession, start: datetime, end: datetime) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.opened_at >= start, Ticket.opened_at < end)
    return list((await session.execute(stmt)).scalars())


async def solved_between(session: AsyncSession, start: datetime, end: datetime) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.solved_at >= start, Ticket.solved_at < end)
    return list((await session.execute(stmt)).scalars())


async def overdue_at(session: AsyncSession, moment: datetime) -> int:
    """Tickets still open or pending at `moment` whose resolution deadline has passed."""
    stmt = select(func.count()).where(
        Ticket.status.in_(LIVE), Ticket.resolve_due_at.is_not(None), Ticket.resolve_due_at < moment
    )
    return int(await session.scalar(stmt) or 0)


async def due_between(session: AsyncSession, start: datetime, end: datetime) -> list[Ticket]:
    """Tickets whose resolution deadline falls in [start, end): the ones that could breach in that period."""
    stmt = select(Ticket).where(Ticket.resolve_due_at >= start, Ticket.resolve_due_at < end)
    return list((await session.execute(stmt)).scalars())


async def event_count(session: AsyncSession, kind: str, start: datetime, end: datetime) -> int:
    stmt = select(func.count()).where(
        TicketEvent.kind == kind, TicketEvent.occurred_at >= start, TicketEvent.occurred_at < end
    )
    return int(await session.scalar(stmt) or 0)
