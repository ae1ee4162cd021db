"""The OA's hand-off: "都不是" on an OA menu, or "人工"/"转人工" typed by a follower, goes to a person, who replies
through the OA's own customer-service tools.

The OA has no API that hands a follower to a person (kf's service_state/trans), so the hand-off is what kf's is
around that call: the follower hears in Chinese that a colleague will reply, a ticket opens (as for kf), the
owner rep (else the on-duty rep, else the managers) gets an app message with the conversation so far, and the
follower is held for a person (services/faq/oa_person.py) so the FAQ stays out of their chat until released.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import notify
from services.faq.budget import Budgets
from services.faq.handoff import Handoff, choose_servicer, handoff_ticket
from services.faq.oa_person import NewHold, hold_follower
from services.faq.reach import Reach, room, send
from services.outbox.messages import Text
from services.tickets.text import label

log = logging.getLogger("qunke.faq")

OA_NOTICE: Final = "好的，已为您转给同事，同事会尽快在这里回复您，请稍候。"
OA_HEADLINE: Final = "公众号：{who}请求人工服务（{why}）。公众号不能转接会话，须在其最后一条消息后 48 小时内回复：{how}"
ALERT_TITLE: Final = "公众号客户转人工"


@dataclass(frozen=True, slots=True)
class OaHandedOff:
    rep: str | None  # who takes it: the owner rep or an on-duty rep; None when only managers (or nobody) hear
    notice_id: int | None  # the follower's notice, None when their window had no room left
    alerted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OaAsk:
    """The follower's message that asked for a person."""

    message_id: int
    customer_id: int | None
    chat_id: str
    words: str = ""  # what they asked, for the ticket's subject


async def oa_hand_off(
    session: AsyncSession,
    reach: Reach,
    ask: OaAsk,
    owner: str | None,
    why: str,
    policy: Handoff,
    budgets: Budgets,
    now: datetime,
) -> OaHandedOff:
    """Tell the follower a colleague will reply, open a ticket, alert whoever should reply, and hold the follower
    for them: the FAQ stays out of the chat until the ticket is solved or the chat goes quiet (oa_person.py)."""
    rep = choose_servicer(owner, ask.customer_id, policy.on_duty)
    alerted = (rep,) if rep else policy.managers
    ticket = await handoff_ticket(
        session, ask.message_id, ask.chat_id, ask.customer_id, rep, why, policy, now, channel="oa", words=ask.words
    )
    ticket_label = label(ticket.id) if ticket is not None else ""
    key = f"faq-oa-handoff-alert:{ask.message_id}"
    alert = notify.HandoffAlert(alerted, why, ask.customer_id, policy.timezone, key, ticket_label)
    await notify.send_handoff_alert(session, now, alert, OA_HEADLINE, ALERT_TITLE)
    notice_id = None
    if await room(session, budgets, reach, now) > 0:
        notice_id = await send(session, now, reach, Text(OA_NOTICE), f"faq-oa-handoff:{ask.message_id}")
    ticket_id = ticket.id if ticket is not None else None
    held = NewHold(ask.chat_id, reach.openid, ask.customer_id, ask.message_id, rep, alerted, ticket_id, why)
    await hold_follower(session, held, now)
    if not alerted:
        log.warning(
            "OA hand-off for message %s: no owner rep, no one on duty (service.on_duty) and no service.managers: "
            "nobody was alerted",
            ask.message_id,
        )
    return OaHandedOff(rep, notice_id, alerted)
