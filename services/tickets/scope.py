"""Tickets as the console sees them: the viewer's scope applied before any ticket is listed or changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, ticket_scope
from services.tickets.views import TicketView, _names, _view
from storage.models.tickets import Ticket

PAGE_SIZE = 50


async def visible_tickets(
    session: AsyncSession, viewer: Viewer, now: datetime, status: str = "", page: int = 1
) -> list[TicketView]:
    """Newest first; `status` empty means open and pending ones (what needs doing)."""
    stmt = select(Ticket).where(ticket_scope(viewer))
    if status == "all":
        pass
    elif status:
        stmt = stmt.where(Ticket.status == status)
    else:
        stmt = stmt.where(Ticket.status.in_(("open", "pending")))
    stmt = stmt.order_by(Ticket.id.desc()).limit(PAGE_SIZE).offset((max(1, page) - 1) * PAGE_SIZE)
    found = list((await session.execute(stmt)).scalars())
    names = await _names(session, [t.customer_id for t in found])
    return [_view(t, names.get(t.customer_id, ""), now) for t in found]


async def tickets_of_customer(
    session: AsyncSession, viewer: Viewer, customer_id: int, now: datetime
) -> list[TicketView]:
    stmt = select(Ticket).where(ticket_scope(viewer), Ticket.customer_id == customer_id).order_by(Ticket.id.desc())
    found = list((await session.execute(stmt)).scalars())
    names = await _names(session, [customer_id])
    return [_view(t, names.get(t.customer_id, ""), now) for t in found]
