"""Changing tickets by reps, the CLI and jobs: claim, pending, solve, close, reopen, and the auto-close job."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.service.alerts import Alert, alert_member
from services.tickets import states
from services.tickets.opening import TicketPolicy, mark_reopened, tell_reopened
from services.tickets.states import Change, Problem, TicketError
from services.tickets.text import label
from storage.models.customers import Member
from storage.models.tickets import Ticket
from storage.repos import contacts
from storage.repos import tickets as repo


async def _live(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await _locked(session, ticket_id)
    states.require_live(ticket)
    return ticket


async def _locked(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await repo.get(session, ticket_id, lock=True)
    if ticket is None:
        raise TicketError(Problem.NOT_FOUND, f"没有找到工单 {label(ticket_id)}")
    return ticket


async def _check_owner(session: AsyncSession, ticket: Ticket, by: str, policy: TicketPolicy, force: bool) -> None:
    """Only the assignee (or a manager, or the CLI without --by) changes an assigned ticket."""
    if force or not ticket.assignee_userid or ticket.assignee_userid == by or by in policy.managers:
        return
    assignee = ticket.assignee_userid
    name = (await session.execute(select(Member.name).where(Member.userid == assignee))).scalar_one_or_none()
    raise TicketError(
        Problem.NOT_YOURS,
        f"工单 {label(ticket.id)} 由 {name or assignee} 负责，不是你的；如需接手请先回复「认领 {label(ticket.id)}」",
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


async def respond(
    session: AsyncSession, now: datetime, ticket_id: int, userid: str, *, policy: TicketPolicy | None = None
) -> Ticket:
    """`userid` answers the ticket's customer: theirs, a manager's to answer, or nobody's (then they take it)."""
    policy = policy or TicketPolicy()
    ticket = await _live(session, ticket_id)
    await _check_owner(session, ticket, userid, policy, force=False)
    if not ticket.assignee_userid:
        ticket.assignee_userid = userid
        await repo.add_event(session, ticket.id, "claimed", userid, now, {"from": None})
    ticket.first_responded_at = ticket.first_responded_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "replied", userid, now)
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
    await _check_owner(session, ticket, by, policy, force)
    states.require(ticket, Change.PENDING)
    states.move(ticket, Change.PENDING)
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
    await _check_owner(session, ticket, by, policy, force)
    states.move(ticket, Change.SOLVE)
    ticket.solved_at = now
    ticket.assignee_userid = ticket.assignee_userid or (None if force else by)
    ticket.first_responded_at = ticket.first_responded_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "solved", by, now, {"note": note[:500]} if note else {})
    return ticket


async def close(session: AsyncSession, now: datetime, ticket_id: int, by: str) -> Ticket:
    """Close a ticket by hand, from any status but closed."""
    ticket = await _locked(session, ticket_id)
    states.require(ticket, Change.CLOSE)
    states.move(ticket, Change.CLOSE)
    ticket.closed_at = now
    ticket.solved_at = ticket.solved_at or now
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "closed", by, now)
    return ticket


async def reopen(
    session: AsyncSession, now: datetime, ticket_id: int, by: str, *, policy: TicketPolicy | None = None, note: str = ""
) -> Ticket:
    """Reopen a solved or closed ticket by hand (no time limit); its assignee hears unless they reopened it."""
    policy = policy or TicketPolicy()
    ticket = await _locked(session, ticket_id)
    states.require(ticket, Change.REOPEN)
    await mark_reopened(session, now, ticket, policy, by, {"note": note[:500]} if note else {})
    customer = await contacts.customer_by_id(session, ticket.customer_id)
    if ticket.assignee_userid and ticket.assignee_userid != by and customer is not None:
        await tell_reopened(session, now, ticket, customer, "manual", note or ticket.subject, [ticket.assignee_userid])
    return ticket


async def close_solved(session: AsyncSession, now: datetime, after: timedelta, batch: int = 500) -> int:
    """The scheduled job: close tickets solved at least `after` ago; how many it closed."""
    total = 0
    while True:
        due = await repo.solved_before(session, now - after, batch)
        closed = await repo.close_many(session, due, now)  # Change.AUTO_CLOSE (solved -> closed) in one UPDATE
        for ticket_id in closed:
            await repo.add_event(session, ticket_id, "closed", "bot", now, {"auto": True})
        total += len(closed)
        if len(due) < batch:
            return total


async def auto_close_job(sessions: async_sessionmaker[AsyncSession], clock: Clock, after: timedelta) -> int:
    """The scheduled job body: close tickets solved `after` ago, in one transaction."""
    async with sessions() as session, session.begin():
        return await close_solved(session, clock.now(), after)
