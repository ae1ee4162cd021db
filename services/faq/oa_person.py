"""The OA's "with a person" state: a follower handed to a person is held, so the FAQ stays out of their chat.

The OA cannot hand a conversation over (no service_state/trans), so Qunke keeps the state itself, one row per
hand-off (storage/models/faq.py: OaPersonHold). While it is live the FAQ sends that follower nothing (no answers,
menus or greetings); every message is still stored, waits and tickets run as for anyone, and whoever holds the
hand-off hears of new messages at most once per `faq.repeat_window_min`, through the hand-off alert's builder. It is
released when the hand-off ticket is solved or closed, or when the follower has been quiet for
`faq.oa_handoff_release_hours`, whichever comes first; both ends are on the customer's timeline. A reopened ticket
holds the follower again (services/faq/oa_rehold.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import notify
from services.tickets.text import label
from storage.models.faq import OaHoldRelease, OaPersonHold
from storage.models.tickets import Ticket, TicketStatus
from storage.repos import oa_holds
from storage.repos import timeline as timeline_repo
from storage.repos.tickets import DONE, LIVE

log = logging.getLogger("qunke.faq")

HELD_KIND: Final = "oa_with_person"  # timeline entry kinds (services/customers/timeline.py reads them)
RELEASED_KIND: Final = "oa_person_released"
HELD_HEADLINE: Final = (
    "公众号：{who}已转人工，{why}。机器人不会自动回复该粉丝，须在其最后一条消息后 48 小时内回复：{how}"
)
HELD_WHY: Final = "又发来了新消息"
HELD_TITLE: Final = "公众号转人工客户的新消息"


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    release_after: timedelta = timedelta(hours=24)  # faq.oa_handoff_release_hours of quiet from the follower
    alert_every: timedelta = timedelta(minutes=30)  # faq.repeat_window_min: new-message alerts at most this often
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class NewHold:
    """A hand-off just made on the OA: who asked, who takes it, and its ticket."""

    chat_id: str
    openid: str
    customer_id: int | None
    message_id: int | None  # None: held again because the ticket reopened (services/faq/oa_rehold.py)
    rep: str | None
    alerted: tuple[str, ...] = field(default=())
    ticket_id: int | None = None
    why: str = ""


async def hold_follower(session: AsyncSession, new: NewHold, now: datetime) -> OaPersonHold:
    """Start holding the follower for a person; the hand-off alert just sent counts as the first alert."""
    hold = OaPersonHold(
        chat_id=new.chat_id,
        openid=new.openid,
        customer_id=new.customer_id,
        message_id=new.message_id,
        rep=new.rep,
        alerted=list(new.alerted),
        ticket_id=new.ticket_id,
        reason=new.why[:200],
        held_at=now,
        last_message_at=now,
        held_messages=0,
        last_alert_at=now,
    )
    session.add(hold)
    await session.flush()
    if new.customer_id is not None:
        detail = {"reason": new.why, "ticket_id": new.ticket_id, "alerted": list(new.alerted)}
        await timeline_repo.add_event_once(
            session,
            customer_id=new.customer_id,
            kind=HELD_KIND,
            occurred_at=now,
            source_key=f"oa-hold:{hold.id}:held",
            member_userid=new.rep,
            chat_id=new.chat_id[:64],
            detail=detail,
        )
    return hold


async def live_hold(session: AsyncSession, chat_id: str, now: datetime, policy: HoldPolicy) -> OaPersonHold | None:
    """The follower's hold in this OA chat if it still stands; one that is due is released here and then."""
    hold = await oa_holds.live_in_chat(session, chat_id)
    if hold is None:
        return None
    due = await _release_due(session, hold, now, policy.release_after)
    if due is None:
        return hold
    await release(session, hold, *due)
    return None


async def _release_due(
    session: AsyncSession, hold: OaPersonHold, now: datetime, release_after: timedelta
) -> tuple[datetime, str] | None:
    """When and why the hold ended, if it has: the ticket solved or closed, or the follower quiet too long."""
    ends: list[tuple[datetime, str]] = []
    ticket = await session.get(Ticket, hold.ticket_id) if hold.ticket_id is not None else None
    if ticket is not None and ticket.status in DONE:
        if ticket.status == TicketStatus.CLOSED:
            ends.append((ticket.closed_at or now, OaHoldRelease.TICKET_CLOSED))
        else:
            ends.append((ticket.solved_at or now, OaHoldRelease.TICKET_SOLVED))
    idle_at = hold.last_message_at + release_after
    if idle_at <= now:
        ends.append((idle_at, OaHoldRelease.IDLE))
    return min(ends) if ends else None


async def release(session: AsyncSession, hold: OaPersonHold, at: datetime, why: str) -> None:
    """End the hold at `at` (when the ticket was solved, or the idle time ran out) and say so on the timeline."""
    hold.released_at = max(at, hold.held_at)
    hold.release_reason = why
    if hold.customer_id is not None:
        await timeline_repo.add_event_once(
            session,
            customer_id=hold.customer_id,
            kind=RELEASED_KIND,
            occurred_at=hold.released_at,
            source_key=f"oa-hold:{hold.id}:released",
            chat_id=hold.chat_id[:64],
            detail={"reason": why, "ticket_id": hold.ticket_id},
        )
    log.info("OA follower in chat %s is back with the bot (%s, hold %s)", hold.chat_id, why, hold.id)


async def release_due(session: AsyncSession, now: datetime, policy: HoldPolicy, batch: int = 500) -> int:
    """The scheduled sweep: release every hold whose ticket is done or whose follower went quiet; how many."""
    released = 0
    while True:
        due = await oa_holds.due_for_release(session, now - policy.release_after, batch)
        for hold in due:
            end = await _release_due(session, hold, now, policy.release_after)
            if end is not None:
                await release(session, hold, *end)
                released += 1
        if len(due) < batch:
            return released


async def held_message(
    session: AsyncSession, hold: OaPersonHold, message_id: int, sent_at: datetime, now: datetime, policy: HoldPolicy
) -> list[int]:
    """A message from a held follower: the FAQ stays silent; whoever holds it hears, at most once per window."""
    hold.last_message_at = max(hold.last_message_at, min(sent_at, now))
    hold.held_messages += 1
    if now - hold.last_alert_at < policy.alert_every:
        return []
    ticket = await session.get(Ticket, hold.ticket_id) if hold.ticket_id is not None else None
    to = _who_hears(hold, ticket)
    hold.last_alert_at = now
    key = f"faq-oa-held-alert:{message_id}"
    ticket_label = label(ticket.id) if ticket is not None else ""
    alert = notify.HandoffAlert(to, HELD_WHY, hold.customer_id, policy.timezone, key, ticket_label)
    queued = await notify.send_handoff_alert(session, now, alert, HELD_HEADLINE, HELD_TITLE)
    if not to:
        log.warning("OA follower in chat %s wrote again while held for a person: nobody to alert", hold.chat_id)
    return queued


def _who_hears(hold: OaPersonHold, ticket: Ticket | None) -> tuple[str, ...]:
    """The ticket's assignee (a rep may have claimed it), else the rep the hand-off chose, else who heard of it."""
    if ticket is not None and ticket.status in LIVE and ticket.assignee_userid:
        return (ticket.assignee_userid,)
    if hold.rep:
        return (hold.rep,)
    return tuple(hold.alerted or ())
