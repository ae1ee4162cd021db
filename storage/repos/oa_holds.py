"""Queries behind the OA's "with a person" holds (storage/models/faq.py: OaPersonHold)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.faq import OaPersonHold
from storage.models.tickets import Ticket
from storage.repos.tickets import DONE


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
