"""A wait still unanswered at its resolution deadline opens one overdue ticket, on business-time deadlines."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.policies import ticket_policy
from services.service.overdue import overdue_ticket_hook
from storage.models.tickets import Ticket, TicketMessage
from tests.unit.service_world import GROUP, cn, make_world


async def test_overdue_wait_opens_one_ticket_for_the_owner_when_the_resolution_deadline_passes(
    engine: AsyncEngine,
) -> None:
    world = await make_world(engine, cn(2026, 4, 3, 17, 55))
    await world.customer("wmLEMON", "Lemon柠檬", owner="zhangsan")
    await world.say("请问发票怎么开？", chat=GROUP, customer="wmLEMON", at=cn(2026, 4, 3, 17, 55))
    hook = overdue_ticket_hook(ticket_policy(world.settings))

    await world.tick(cn(2026, 4, 9, 14, 54), hook)
    async with world.sessions() as session:
        assert (await session.execute(select(Ticket))).scalars().all() == []

    # 24 business hours after Friday 17:55 (Qingming Monday off) is Thursday 14:55; later ticks add nothing.
    await world.tick(cn(2026, 4, 9, 14, 55), hook)
    await world.tick(cn(2026, 4, 10, 9, 0), hook)
    [wait] = await world.waits()
    async with world.sessions() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars().all()
        linked = (await session.execute(select(TicketMessage.message_id))).scalars().all()
    assert (ticket.source, ticket.priority, ticket.status) == ("overdue", "high", "open")
    assert ticket.assignee_userid == "zhangsan"
    assert ticket.subject == "超时未回复：请问发票怎么开？"
    assert ticket.source_key == f"overdue:wait:{wait.id}"
    assert linked == [wait.first_message_id]
    # Ticket deadlines count business time too: 30 business minutes after Thursday 14:55 is 15:25.
    assert ticket.first_response_due_at == cn(2026, 4, 9, 15, 25)
