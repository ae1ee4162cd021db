"""Holding an OA follower again when their hand-off ticket reopens (services/faq/oa_rehold.py), on a real database:
once per reopening, never beside a live hold, never for a reopening the follower has been quiet since."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.faq.oa_person import HoldPolicy, NewHold, hold_follower, release_due
from services.faq.oa_rehold import REHOLD_REASON, current_hold, hold_reopened
from services.tickets import changes
from services.tickets import opening as tickets
from services.tickets.opening import TicketSource
from storage.db import make_sessionmaker
from storage.models.customers import Customer
from storage.models.faq import OaPersonHold
from storage.repos import oa_holds
from tests.handlers.service_support import T0

CHAT = "oa:o-follower"
POLICY = HoldPolicy()
HOUR = timedelta(hours=1)


async def _handed_off(session: AsyncSession, subject: str = "转人工") -> OaPersonHold:
    """A follower handed to a person with a ticket of their own, at T0."""
    customer = await session.get(Customer, 1) or Customer(oa_openid="o-follower", name="老周", first_seen_at=T0)
    session.add(customer)
    await session.flush()
    request = tickets.TicketRequest(customer.id, subject, TicketSource.HANDOFF, channel="oa", chat_id=CHAT)
    ticket = await tickets.open_ticket(session, T0, request)
    new = NewHold(CHAT, "o-follower", customer.id, None, None, ("zhaoliu",), ticket.id, "客户要求人工服务")
    return await hold_follower(session, new, T0)


async def _solved_and_released(session: AsyncSession, hold: OaPersonHold, at: timedelta) -> None:
    assert hold.ticket_id is not None
    await changes.solve(session, T0 + at, hold.ticket_id, "cli", force=True)
    assert await release_due(session, T0 + at, POLICY) == 1


async def test_a_reopened_ticket_holds_the_follower_once_when_reopened_after_the_release(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        first = await _handed_off(session)
        await _solved_and_released(session, first, HOUR)
        assert first.ticket_id is not None
        await changes.reopen(session, T0 + 2 * HOUR, first.ticket_id, "cli")

        assert await hold_reopened(session, T0 + 3 * HOUR, POLICY) == 1
        assert await hold_reopened(session, T0 + 3 * HOUR, POLICY) == 0  # the sweep again: nothing new
        again = await current_hold(session, CHAT, T0 + 3 * HOUR, POLICY)
        assert again is not None and again.id != first.id
        held_as = (again.ticket_id, again.reason, again.rep, again.alerted)
        assert held_as == (first.ticket_id, REHOLD_REASON, None, ["zhaoliu"])  # nobody assigned: who heard before
        assert again.held_at == T0 + 2 * HOUR and again.last_alert_at == again.held_at - POLICY.alert_every


async def test_no_new_hold_when_the_follower_is_already_held_or_quiet_since_the_reopening(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        first = await _handed_off(session)
        await _solved_and_released(session, first, HOUR)
        assert first.ticket_id is not None
        second = await _handed_off(session, "转人工：又来了")  # a new hand-off holds them on another ticket
        await changes.reopen(session, T0 + 2 * HOUR, first.ticket_id, "cli")
        assert await current_hold(session, CHAT, T0 + 3 * HOUR, POLICY) == second
        assert await hold_reopened(session, T0 + 3 * HOUR, POLICY) == 0

        await _solved_and_released(session, second, 4 * HOUR)  # the first ticket is still open: held for it again
        again = await current_hold(session, CHAT, T0 + 5 * HOUR, POLICY)
        assert again is not None and again.ticket_id == first.ticket_id and again.held_at == T0 + 4 * HOUR

        await _solved_and_released(session, again, 6 * HOUR)
        await changes.reopen(session, T0 + 7 * HOUR, first.ticket_id, "cli")
        late = T0 + 7 * HOUR + POLICY.release_after + HOUR  # quiet longer than the release hours since
        assert await current_hold(session, CHAT, late, POLICY) is None
        assert await oa_holds.live_in_chat(session, CHAT) is None
