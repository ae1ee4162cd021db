"""A reopened OA hand-off ticket holds the follower again: the person serving them is back, so the FAQ steps out.

The hold follows the ticket's state, not the caller that reopened it: whatever reopens a ticket (a rep's
`qunke ticket reopen`, a low score on the OA, a complaint that brings its ticket back) writes the ticket's
"reopened" event, and a released hold whose ticket is live again with a reopening since its release is held again,
once, tied to the same ticket. It is noticed on the follower's next message (before the FAQ decides anything) and by
the `oa-person-release` sweep (so the timeline shows it without waiting for one). The tickets domain knows nothing of
the FAQ this way, and a path that reopens tickets later needs nothing added.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.oa_person import HoldPolicy, NewHold, hold_follower, live_hold
from storage.models.faq import OaPersonHold
from storage.models.tickets import Ticket
from storage.repos import advisory, contacts, oa_holds

log = logging.getLogger("qunke.faq")

REHOLD_REASON: Final = "工单重新打开"  # the timeline reads "公众号会话转人工（工单重新打开），…"


async def current_hold(session: AsyncSession, chat_id: str, now: datetime, policy: HoldPolicy) -> OaPersonHold | None:
    """The follower's hold in this OA chat: the live one, else a new one if the ticket that ended theirs reopened.

    The follower's messages are decided one at a time (on PostgreSQL several ingest loops run): a question sent
    right after "人工" waits for that hand-off's hold instead of being answered beside it."""
    await advisory.lock_for_transaction(session, advisory.OA_CHAT, chat_id)
    hold = await live_hold(session, chat_id, now, policy)
    if hold is not None:
        return hold
    for old in await oa_holds.reopened_since_release(session, now - policy.release_after, 1, chat_id):
        return await _hold_again(session, old, now, policy)
    return None


async def hold_reopened(session: AsyncSession, now: datetime, policy: HoldPolicy, batch: int = 200) -> int:
    """The sweep: hold again every follower whose hand-off ticket reopened since their hold ended; how many."""
    held = 0
    while True:
        due = await oa_holds.reopened_since_release(session, now - policy.release_after, batch)
        before = held
        for old in due:
            held += (await _hold_again(session, old, now, policy)) is not None
        if len(due) < batch or held == before:  # a full batch that held nobody would come back the same
            return held


async def _hold_again(
    session: AsyncSession, old: OaPersonHold, now: datetime, policy: HoldPolicy
) -> OaPersonHold | None:
    """A new hold tied to the old one's ticket, from the reopening; the follower's next message reaches the holder."""
    assert old.ticket_id is not None
    reopening = await oa_holds.last_reopen(session, old.ticket_id)
    ticket = await session.get(Ticket, old.ticket_id)
    if reopening is None or ticket is None:
        return None
    # From the reopening, or from the end of a later hold in the chat (another hand-off that kept them meanwhile).
    at = min(max(reopening.occurred_at, await oa_holds.last_release_in_chat(session, old.chat_id) or now), now)
    new = NewHold(
        chat_id=old.chat_id,
        openid=old.openid,
        customer_id=old.customer_id,
        message_id=None,
        rep=await _holder(session, reopening.actor, ticket, old),
        alerted=tuple(old.alerted or ()),
        ticket_id=old.ticket_id,
        why=REHOLD_REASON,
    )
    try:
        async with session.begin_nested():  # the sweep and a message may both see it: one live hold per chat
            hold = await hold_follower(session, new, at)
    except IntegrityError:
        return await oa_holds.live_in_chat(session, old.chat_id)
    # The reopening told the assignee the ticket is back; the follower's next message is news, so it alerts.
    hold.last_alert_at = at - policy.alert_every
    log.info("OA follower in chat %s is with a person again: T%s reopened (hold %s)", old.chat_id, ticket.id, hold.id)
    return hold


async def _holder(session: AsyncSession, actor: str, ticket: Ticket, old: OaPersonHold) -> str | None:
    """The ticket's assignee (who hears of the follower's messages, oa_person._who_hears), else the rep who reopened
    it (a member, not "bot" or "cli"), else the old hold's rep."""
    if ticket.assignee_userid:
        return ticket.assignee_userid
    if actor and await contacts.members_by_ids(session, [actor]):
        return actor
    return old.rep
