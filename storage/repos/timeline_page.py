"""One page of a customer's whole timeline, as a UNION over the tables that already hold each fact (lifecycle
entries, messages, purchases, ticket events, survey asks), counted and paged in SQL on their customer indexes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from storage.models.customers import CustomerEvent
from storage.models.messages import Message
from storage.models.purchases import Purchase
from storage.models.surveys import Survey
from storage.models.tickets import Ticket, TicketEvent


@dataclass(frozen=True, slots=True)
class EntryRef:
    """Where one timeline entry lives: `source` names the table (event, message, purchase, ticket, survey)."""

    source: str
    ref_id: int
    at: datetime


def _leg(source: str, ref: Any, at: Any) -> Select[Any]:
    return select(literal_column(f"'{source}'", String).label("source"), ref.label("ref_id"), at.label("at"))


def _legs(ids: list[int], since: datetime | None) -> list[Select[Any]]:
    legs = [
        _leg("event", CustomerEvent.id, CustomerEvent.occurred_at).where(CustomerEvent.customer_id.in_(ids)),
        _leg("message", Message.id, Message.sent_at).where(Message.customer_id.in_(ids)),
        _leg("purchase", Purchase.id, Purchase.purchased_at).where(Purchase.customer_id.in_(ids)),
        _leg("ticket", TicketEvent.id, TicketEvent.occurred_at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.customer_id.in_(ids)),
        _leg("survey", Survey.id, Survey.asked_at).where(Survey.customer_id.in_(ids)),
    ]
    if since is None:
        return legs
    times = (
        CustomerEvent.occurred_at,
        Message.sent_at,
        Purchase.purchased_at,
        TicketEvent.occurred_at,
        Survey.asked_at,
    )
    return [leg.where(at >= since) for leg, at in zip(legs, times, strict=True)]


async def page_of(
    session: AsyncSession, customer_ids: Sequence[int], *, since: datetime | None, limit: int, offset: int
) -> tuple[int, list[EntryRef]]:
    """(total entries, this page oldest first): pages count back from the newest, `offset` entries skipped."""
    union = union_all(*_legs(list(customer_ids), since)).subquery("timeline")
    total = int((await session.execute(select(func.count()).select_from(union))).scalar_one())
    rows = await session.execute(
        select(union.c.source, union.c.ref_id, union.c.at)
        .order_by(union.c.at.desc(), union.c.source.desc(), union.c.ref_id.desc())
        .limit(limit)
        .offset(offset)
    )
    refs = [EntryRef(str(source), int(ref_id), at) for source, ref_id, at in rows]
    return total, list(reversed(refs))


async def rows_by_id(session: AsyncSession, model: Any, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    found = await session.execute(select(model).where(model.id.in_(list(ids))))
    return {row.id: row for row in found.scalars()}
