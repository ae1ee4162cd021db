"""Queries behind the OA's "with a person" holds (storage/models/faq.py: OaPersonHold)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models.faq import OaPersonHold
from storage.models.tickets import Ticket, TicketEvent
from storage.repos.tickets import DONE, LIVE

REOPENED = "reopened"  # the ticket event every reopen writes (services/tickets/opening.py: mark_reopened)


async def live_in_chat(session: AsyncSession, chat_id: str) -> OaPersonHold | None:
    """The follower's live hold in this OA chat, locked (FOR UPDATE on PostgreSQL) so two messages alert once."""
    stmt = (
        select(OaPersonHold)
        .where(OaPersonHold.chat_id == chat_id, OaPersonHold.released_at.is_(None))
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def live_of_customers(session: AsyncSession, customer_ids: list[int]) -> list[OaPersonHold]:
    """Live holds of these (merged) profiles, newest first."""
    stmt = (
        select(OaPersonHold)
        .where(OaPersonHold.customer_id.in_(customer_ids), OaPersonHold.released_at.is_(None))
        .order_by(OaPersonHold.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def due_for_release(session: AsyncSession, idle_before: datetime, limit: int) -> list[OaPersonHold]:
    """Live holds whose ticket is solved or closed, or whose follower has been quiet since `idle_before`."""
    stmt = (
        select(OaPersonHold)
        .outerjoin(Ticket, Ticket.id == OaPersonHold.ticket_id)
        .where(
            OaPersonHold.released_at.is_(None),
            or_(Ticket.status.in_(DONE), OaPersonHold.last_message_at < idle_before),
        )
        .order_by(OaPersonHold.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def reopened_since_release(
    session: AsyncSession, reopened_after: datetime, limit: int, chat_id: str | None = None
) -> list[OaPersonHold]:
    """Released holds whose ticket was reopened since (and after `reopened_after`) and is live again: the latest hold
    of each such ticket, in a chat with no live hold."""
    latest = select(func.max(OaPersonHold.id)).where(OaPersonHold.ticket_id.is_not(None))
    latest = latest.group_by(OaPersonHold.ticket_id)
    reopened = exists().where(
        TicketEvent.ticket_id == OaPersonHold.ticket_id,
        TicketEvent.kind == REOPENED,
        TicketEvent.occurred_at >= OaPersonHold.released_at,
        TicketEvent.occurred_at > reopened_after,
    )
    live = aliased(OaPersonHold)
    held = exists().where(live.chat_id == OaPersonHold.chat_id, live.released_at.is_(None))
    stmt = (
        select(OaPersonHold)
        .join(Ticket, Ticket.id == OaPersonHold.ticket_id)
        .where(OaPersonHold.released_at.is_not(None), Ticket.status.in_(LIVE), OaPersonHold.id.in_(latest), reopened)
        .where(~held)
        .order_by(OaPersonHold.id)
        .limit(limit)
    )
    if chat_id is not None:
        stmt = stmt.where(OaPersonHold.chat_id == chat_id)
    return list((await session.execute(stmt)).scalars())


async def last_reopen(session: AsyncSession, ticket_id: int) -> TicketEvent | None:
    """The ticket's latest reopening: when, and who (a member's userid, "bot" or "cli")."""
    stmt = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == REOPENED)
        .order_by(TicketEvent.occurred_at.desc(), TicketEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def last_release_in_chat(session: AsyncSession, chat_id: str) -> datetime | None:
    """When the follower's latest hold in this chat ended."""
    stmt = select(func.max(OaPersonHold.released_at)).where(OaPersonHold.chat_id == chat_id)
    return (await session.execute(stmt)).scalar_one_or_none()
