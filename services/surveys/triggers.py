"""When surveys are asked: after a ticket is solved, at a kf session's end, after a purchase; and the scheduled job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.surveys.asking import KF_END_CODE_TTL, How, Reach, SurveyPolicy, Trigger, ask, find_reach, owner_rep
from services.tickets.changes import solve
from services.tickets.opening import TicketPolicy
from storage.models.customers import Customer
from storage.models.purchases import Purchase
from storage.models.surveys import Survey, SurveyStatus
from storage.models.tickets import Ticket, TicketStatus
from storage.repos import contacts

PURCHASE_LOOKBACK: Final = timedelta(days=2)  # a missed run still asks; a purchase from long ago never does
# A kf ticket solved while a servicer had the session waits for the session's end to be asked about (kf's 48 h window).
KF_SOLVED_WAITS: Final = timedelta(hours=48)


async def ask_after_solve(session: AsyncSession, now: datetime, ticket: Ticket, policy: SurveyPolicy) -> Survey | None:
    """Solving a ticket asks the customer how it went, in the ticket's chat when the bot can post there."""
    kind = policy.kind_for(Trigger.TICKET_SOLVED)
    customer = await contacts.customer_by_id(session, ticket.customer_id)
    if kind is None or customer is None:
        return None
    rep = ticket.assignee_userid or await owner_rep(session, customer)
    reach = await find_reach(
        session, now, customer, policy, prefer_channel=ticket.channel, prefer_chat=ticket.chat_id, rep=rep
    )
    if reach is None or (ticket.channel == "kf" and reach.how == How.REP_NOTE):
        # A kf chat the bot cannot post in now (a servicer has it, or the 48 h window is over) is not a 1:1 chat the
        # rep could ask in: the menu goes out when the session ends, on its end code (ask_on_kf_end).
        return None
    key = f"ticket:{ticket.id}:solved:{ticket.reopened}"
    return await ask(
        session,
        now,
        customer=customer,
        kind=kind,
        trigger=Trigger.TICKET_SOLVED,
        reach=reach,
        policy=policy,
        source_key=key,
        ticket_id=ticket.id,
    )


async def ask_on_kf_end(
    session: AsyncSession,
    now: datetime,
    *,
    customer: Customer,
    open_kfid: str,
    external_userid: str,
    code: str,
    ended_at: datetime,
    source_key: str,
    policy: SurveyPolicy,
) -> Survey | None:
    """A kf session ended with its msg_code: the survey rides on send_msg_on_event (one message, 20 s). It is about
    the ticket solved in this chat while the session was with a person (ask_after_solve left it to this moment),
    so a low score reopens that ticket instead of opening another."""
    kind = policy.kind_for(Trigger.KF_SESSION_END)
    if kind is None or not code:
        return None
    waiting = await _solved_waiting_for_kf_end(session, customer.id, open_kfid, now)
    reach = Reach(
        How.KF_EVENT,
        "kf",
        open_kfid,
        external_userid=external_userid,
        code=code,
        code_expires_at=ended_at + KF_END_CODE_TTL,
    )
    return await ask(
        session,
        now,
        customer=customer,
        kind=kind,
        trigger=Trigger.KF_SESSION_END,
        reach=reach,
        policy=policy,
        source_key=f"kfend:{source_key}",
        ticket_id=waiting,
    )


async def _solved_waiting_for_kf_end(
    session: AsyncSession, customer_id: int, open_kfid: str, now: datetime
) -> int | None:
    """The customer's latest ticket of this kf account solved within KF_SOLVED_WAITS and not asked about yet."""
    asked = select(Survey.id).where(Survey.ticket_id == Ticket.id).exists()
    stmt = (
        select(Ticket.id)
        .where(
            Ticket.customer_id == customer_id,
            Ticket.channel == "kf",
            Ticket.chat_id == open_kfid,
            Ticket.status == TicketStatus.SOLVED,
            Ticket.solved_at >= now - KF_SOLVED_WAITS,
            ~asked,
        )
        .order_by(Ticket.solved_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    found = await session.scalar(stmt)
    return int(found) if found is not None else None


async def ask_after_purchases(session: AsyncSession, now: datetime, policy: SurveyPolicy, batch: int = 500) -> int:
    """The scheduled job: purchases made `after_purchase` ago (within a short lookback) get their survey once."""
    kind = policy.kind_for(Trigger.PURCHASE)
    if kind is None:
        return 0
    newest = now - policy.after_purchase
    stmt = (
        select(Purchase)
        .where(Purchase.purchased_at <= newest, Purchase.purchased_at > newest - PURCHASE_LOOKBACK)
        .order_by(Purchase.purchased_at)
        .limit(batch)
    )
    purchases = list((await session.execute(stmt)).scalars())
    keys = [f"purchase:{p.id}" for p in purchases]
    asked_before = set((await session.execute(select(Survey.source_key).where(Survey.source_key.in_(keys)))).scalars())
    asked = 0
    for purchase, key in zip(purchases, keys, strict=True):
        customer = await contacts.customer_by_id(session, purchase.customer_id)
        if key in asked_before or customer is None:
            continue
        reach = await find_reach(session, now, customer, policy, rep=await owner_rep(session, customer))
        if reach is None:
            continue
        survey = await ask(
            session,
            now,
            customer=customer,
            kind=kind,
            trigger=Trigger.PURCHASE,
            reach=reach,
            policy=policy,
            source_key=key,
        )
        asked += survey is not None
    return asked


async def expire_pending(session: AsyncSession, now: datetime) -> int:
    """The scheduled job: surveys unanswered past their expiry stop waiting; how many expired."""
    result = await session.execute(
        update(Survey)
        .where(Survey.status == SurveyStatus.PENDING, Survey.expires_at <= now)
        .values(status=SurveyStatus.EXPIRED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def solve_and_ask(
    session: AsyncSession,
    now: datetime,
    ticket_id: int,
    by: str,
    *,
    ticket_policy: TicketPolicy,
    survey_policy: SurveyPolicy,
    force: bool = False,
) -> tuple[Ticket, Survey | None]:
    """Solve a ticket and ask its customer for a score (rep command "解决 T123" and `qunke ticket solve`)."""
    ticket = await solve(session, now, ticket_id, by, policy=ticket_policy, force=force)
    return ticket, await ask_after_solve(session, now, ticket, survey_policy)


async def survey_job(sessions: async_sessionmaker[AsyncSession], clock: Clock, policy: SurveyPolicy) -> tuple[int, int]:
    """The scheduled job body: expire surveys past 48 h, then ask after purchases; (expired, asked)."""
    async with sessions() as session, session.begin():
        expired = await expire_pending(session, clock.now())
    async with sessions() as session, session.begin():
        asked = await ask_after_purchases(session, clock.now(), policy)
    return expired, asked
