"""Opening tickets T<id>: idempotently, or reopening a recently solved one, or linking to a live one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers import identity
from services.service.alerts import alert_member
from services.tickets.states import Change, Problem, TicketError, allowed, move
from services.tickets.text import PRIORITIES, PRIORITY_TEXT, opened_alert, reopened_alert
from storage.models.customers import Customer
from storage.models.tickets import Ticket, TicketEvent, TicketSource, TicketStatus
from storage.repos import contacts
from storage.repos import tickets as repo

# A complaint and a request for a person are one cause: "我要投诉" is both (the ticket watcher sees a complaint, the
# FAQ hands the kf session to a person), and one ticket serves it.
SAME_CAUSE: Final[dict[TicketSource, tuple[TicketSource, ...]]] = {
    TicketSource.COMPLAINT: (TicketSource.COMPLAINT, TicketSource.HANDOFF),
    TicketSource.HANDOFF: (TicketSource.HANDOFF, TicketSource.COMPLAINT),
}

__all__ = ["Problem", "TicketError", "TicketSource", "TicketStatus"]

DueFn = Callable[[datetime, timedelta], datetime]


def wall_clock_due(start: datetime, span: timedelta) -> datetime:
    """A deadline in wall-clock time: `span` after `start`."""
    return start + span


@dataclass(frozen=True, slots=True)
class TicketPolicy:
    """What opening and changing tickets needs from config (bot.policies builds it from Settings)."""

    on_duty: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    first_response: timedelta = timedelta(minutes=30)
    resolution: timedelta = timedelta(hours=24)
    reopen_within: timedelta = timedelta(days=7)
    reopen_sources: frozenset[str] = frozenset({TicketSource.LOW_SCORE, TicketSource.COMPLAINT})
    # bot wiring passes the business calendar (bot/policies.py); wall-clock is for bare use and tests.
    due: DueFn = wall_clock_due


class Outcome(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    LINKED = "linked"  # a live ticket of the same source took the new message
    EXISTING = "existing"  # the source key was seen before: nothing changed


@dataclass(frozen=True, slots=True)
class Opened:
    ticket: Ticket
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """What opening a ticket is asked for; `open_or_link` decides whether it opens, reopens, links or finds one."""

    customer_id: int
    subject: str
    source: TicketSource
    priority: str = "normal"
    channel: str = ""
    chat_id: str = ""
    assignee: str | None = None
    source_key: str | None = None
    message_ids: Sequence[int] = ()
    policy: TicketPolicy | None = None
    reopen_ticket_id: int | None = None
    actor: str = "bot"
    tell_assignee: bool = True


async def open_ticket(session: AsyncSession, now: datetime, request: TicketRequest) -> Ticket:
    """Open a ticket, or reopen or extend one; see `open_or_link` (which also says which happened)."""
    return (await open_or_link(session, now, request)).ticket


async def open_or_link(session: AsyncSession, now: datetime, request: TicketRequest) -> Opened:
    """The ticket for this cause, in this order:

    1. the same `source_key` seen before (a replay): that ticket, unchanged;
    2. an automatic source (not manual) with a live (open or pending) ticket of the same source for the customer:
       the messages are linked to it (one complaint ticket per customer while one is open);
    3. `reopen_ticket_id` (the ticket a low-scored survey was about), or for a source in `policy.reopen_sources`
       the customer's latest ticket of that source, solved within `policy.reopen_within`: reopened;
    4. otherwise a new ticket, assigned to `assignee`, the customer's owner rep, or the least loaded on-duty rep,
       who is told privately (unless `tell_assignee` is False: the caller's own alert names the ticket; the same
       holds for a reopened ticket).
    """
    policy = request.policy or TicketPolicy()
    if request.priority not in PRIORITY_TEXT:
        raise TicketError(Problem.BAD_PRIORITY, f"优先级只能是 {'/'.join(PRIORITIES)}")
    key = request.source_key
    if key is not None and (seen := await _seen(session, key)) is not None:
        return Opened(seen, Outcome.EXISTING)
    customer = await contacts.customer_by_id(session, request.customer_id)
    if customer is None:
        raise TicketError(Problem.NO_CUSTOMER, f"没有 ID 为 {request.customer_id} 的客户")
    detail: dict[str, Any] = {"subject": request.subject[:500], "source": str(request.source)}
    if key is not None:
        detail["source_key"] = key
    live = await _live_for(session, request.customer_id, request.source, request.reopen_ticket_id)
    if live is not None:
        await repo.link_messages(session, live.id, request.message_ids)
        await repo.add_event(session, live.id, "linked", request.actor, now, detail)
        live.updated_at = now
        return Opened(live, Outcome.LINKED)
    done = await _reopenable(session, now, request.customer_id, request.source, policy, request.reopen_ticket_id)
    if done is not None:
        await _reopen(session, now, done, request, policy, detail, customer)
        return Opened(done, Outcome.REOPENED)
    owner = request.assignee or await _default_assignee(session, customer, policy)
    row = _new_row(now, policy, request, owner)
    return await _insert_new(session, now, row, customer, request, policy, detail)


async def _seen(session: AsyncSession, source_key: str) -> Ticket | None:
    """The ticket a source key already opened, reopened or was linked to."""
    found = await repo.by_source_key(session, source_key)
    if found is not None:
        return found
    stmt = (
        select(TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_(("reopened", "linked")), TicketEvent.detail["source_key"].as_string() == source_key)
        .limit(1)
    )
    ticket_id = await session.scalar(stmt)
    return await repo.get(session, int(ticket_id)) if ticket_id is not None else None


async def _live_for(
    session: AsyncSession, customer_id: int, source: TicketSource, reopen_ticket_id: int | None
) -> Ticket | None:
    """The live ticket a new cause joins: the customer's of the same automatic cause, else the one it is about."""
    if source != TicketSource.MANUAL:
        live = await repo.live_of(session, customer_id, SAME_CAUSE.get(source, (source,)))
        if live is not None:
            return live
    about = await repo.get(session, reopen_ticket_id, lock=True) if reopen_ticket_id is not None else None
    return about if about is not None and about.status in repo.LIVE else None


async def _reopenable(
    session: AsyncSession,
    now: datetime,
    customer_id: int,
    source: TicketSource,
    policy: TicketPolicy,
    reopen_ticket_id: int | None,
) -> Ticket | None:
    since = now - policy.reopen_within
    if reopen_ticket_id is not None:
        ticket = await repo.get(session, reopen_ticket_id, lock=True)
        recent = ticket is not None and ticket.solved_at is not None and ticket.solved_at >= since
        if ticket is not None and allowed(ticket.status, Change.REOPEN) and recent:
            return ticket
    if source in policy.reopen_sources:
        return await repo.latest_done_of(session, customer_id, source, since)
    return None


async def _reopen(
    session: AsyncSession,
    now: datetime,
    ticket: Ticket,
    request: TicketRequest,
    policy: TicketPolicy,
    detail: dict[str, Any],
    customer: Customer,
) -> None:
    await mark_reopened(session, now, ticket, policy, request.actor, detail)
    await repo.link_messages(session, ticket.id, request.message_ids)
    if not request.tell_assignee:
        return  # the caller's own alert (a low score) says the ticket is back, so the rep gets one message
    recipients = _recipients(ticket.assignee_userid, policy)
    await tell_reopened(session, now, ticket, customer, str(detail.get("source")), detail["subject"], recipients)


async def tell_reopened(
    session: AsyncSession,
    now: datetime,
    ticket: Ticket,
    customer: Customer,
    source: str,
    subject: str,
    recipients: list[str],
) -> None:
    """The "ticket back" alert, once per reopening and person (one key whichever path reopened it)."""
    alert = reopened_alert(ticket, customer, source, subject)
    for userid in recipients:
        await alert_member(session, now, userid, alert, key=f"ticket:{ticket.id}:reopened:{ticket.reopened}:{userid}")


async def mark_reopened(
    session: AsyncSession, now: datetime, ticket: Ticket, policy: TicketPolicy, actor: str, detail: dict[str, Any]
) -> None:
    """Every reopening passes here: solved or closed → open, its "reopened" event written (an OA follower's hold
    follows that event: services/faq/oa_rehold.py)."""
    previous = move(ticket, Change.REOPEN)
    ticket.reopened += 1
    ticket.solved_at = None
    ticket.closed_at = None
    ticket.sla_stage = 0
    ticket.resolve_due_at = policy.due(now, policy.resolution)
    ticket.updated_at = now
    await repo.add_event(session, ticket.id, "reopened", actor, now, {**detail, "from": previous})


def _new_row(now: datetime, policy: TicketPolicy, request: TicketRequest, owner: str | None) -> dict[str, Any]:
    """The `tickets` row a new ticket starts as, with its first-response and resolution deadlines."""
    return {
        "customer_id": request.customer_id,
        "subject": request.subject[:2000],
        "status": TicketStatus.OPEN,
        "priority": request.priority,
        "source": str(request.source),
        "assignee_userid": owner,
        "channel": request.channel,
        "chat_id": request.chat_id,
        "policy": "",
        "first_response_due_at": policy.due(now, policy.first_response),
        "resolve_due_at": policy.due(now, policy.resolution),
        "sla_stage": 0,
        "reopened": 0,
        "opened_at": now,
        "updated_at": now,
        "source_key": request.source_key,
    }


async def _insert_new(
    session: AsyncSession,
    now: datetime,
    row: dict[str, Any],
    customer: Customer,
    request: TicketRequest,
    policy: TicketPolicy,
    detail: dict[str, Any],
) -> Opened:
    """Insert the new ticket (or find the one a concurrent opener inserted for the same key) and tell its people."""
    new_id = await repo.insert_once(session, row)
    if new_id is None:  # another process opened it for the same key a moment ago
        source_key = row["source_key"]
        assert source_key is not None
        found = await repo.by_source_key(session, source_key)
        assert found is not None
        return Opened(found, Outcome.EXISTING)
    ticket = await repo.get(session, new_id)
    assert ticket is not None
    owner, priority = row["assignee_userid"], row["priority"]
    event = {**detail, "assignee": owner, "priority": priority}
    await repo.add_event(session, new_id, "opened", request.actor, now, event)
    await repo.link_messages(session, new_id, request.message_ids)
    alert = opened_alert(ticket, customer)
    # With `tell_assignee` off the caller's own alert (a low score, a hand-off) goes to the same people, the
    # managers included when nobody is assigned, and says the ticket is unassigned: one alert each, not two.
    for userid in _recipients(ticket.assignee_userid, policy) if request.tell_assignee else []:
        await alert_member(session, now, userid, alert, key=f"ticket:{ticket.id}:opened:{userid}")
    return Opened(ticket, Outcome.OPENED)


async def _default_assignee(session: AsyncSession, customer: Customer, policy: TicketPolicy) -> str | None:
    root = await identity.root_of(session, customer)
    if root.owner_userid:
        return root.owner_userid
    if not policy.on_duty:
        return None
    load = await repo.live_counts(session, policy.on_duty)
    return min(policy.on_duty, key=lambda userid: (load.get(userid, 0), policy.on_duty.index(userid)))


def _recipients(assignee: str | None, policy: TicketPolicy) -> list[str]:
    """The assignee; with nobody assigned, the managers, so an unowned ticket is never silent."""
    return [assignee] if assignee else list(policy.managers)
