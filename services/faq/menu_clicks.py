"""A tap on one of the FAQ's menus (kf or OA): answer the entry it names (and learn from it), or hand off on "都不是".

Both channels share everything but the hand-off: kf hands the session over (service_state/trans); the OA, which
cannot, tells the follower a colleague will reply and alerts the rep (services/faq/oa_handoff.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import learning
from services.faq.answer_types import Outcome, Policy, Question
from services.faq.answering import hand_off_follower, hand_off_question, reach_of
from services.faq.menus import NONE_ID, entry_of
from services.faq.reach import KF, room, send
from services.outbox.messages import Text
from storage.kf_state import WITH_PERSON
from storage.models.faq import FaqDecision, KbEntry
from storage.models.messages import KfSession
from storage.repos import faq as faq_repo
from storage.repos import kb as kb_repo
from storage.repos.faq import NewReply
from storage.repos.windows import kf_recipient

log = logging.getLogger("qunke.faq")
NONE_REASON = "客户在“您是想问”菜单中选择了“都不是”"


async def handle_menu_click(
    session: AsyncSession, q: Question, menu_id: str, policy: Policy, owner: str | None, now: datetime
) -> Outcome:
    """Act on the tap `q` (a kf or OA text message carrying `menu_id`), once per message."""
    if await faq_repo.reply_for_message(session, q.message_id) is not None:
        return Outcome(None, "already_handled")
    if q.chat_type == KF:
        state = await session.get(KfSession, (q.chat_id, q.external_userid))
        if state is not None and state.state in WITH_PERSON:
            return Outcome(None, "with_person")
    if menu_id == NONE_ID:
        return await _none_of_these(session, q, policy, owner, now)
    entries = [e.id for e in await kb_repo.entries(session, enabled_only=True)]
    entry_id = entry_of(menu_id, entries)
    if entry_id is None:
        what = "%s menu tap %r in message %s names no enabled KB entry: not answered"
        log.warning(what, q.chat_type, menu_id, q.message_id)
        return await _record(session, q, None, FaqDecision.SILENT, "unknown_menu_item", now)
    reach = reach_of(q)
    if await room(session, policy.budgets, reach, now) <= 0:
        return await _record(session, q, entry_id, FaqDecision.SILENT, "no_window", now)
    entry = await session.get(KbEntry, entry_id)
    answer = entry.answer if entry is not None else ""
    outbox_id = await send(session, now, reach, Text(f"{answer}\n\n{policy.contact_line}"), f"faq:{q.message_id}")
    await learning.picked(session, q.customer_id, q.chat_id, entry_id, now)
    return await _record(session, q, entry_id, FaqDecision.ANSWERED, "menu_tap", now, outbox_id)


async def _none_of_these(
    session: AsyncSession, q: Question, policy: Policy, owner: str | None, now: datetime
) -> Outcome:
    """ "都不是": the menu's question stays unanswered and goes to a person, the channel's way."""
    if q.chat_type == KF:
        if await faq_repo.handoff_in_flight(session, kf_recipient(q.chat_id, q.external_userid)):
            return Outcome(None, "handoff_in_flight")
        asked = await learning.declined(session, q.customer_id, q.chat_id, now)
        return await hand_off_question(session, q, policy, owner, NONE_REASON, now, asked or "")
    asked = await learning.declined(session, q.customer_id, q.chat_id, now)
    return await hand_off_follower(session, q, policy, owner, NONE_REASON, now, asked or "")


async def _record(
    session: AsyncSession,
    q: Question,
    entry_id: str | None,
    what: str,
    reason: str,
    now: datetime,
    outbox_id: int | None = None,
) -> Outcome:
    # A tap is the customer's own choice: recorded at full confidence, so reports count it as answered.
    confidence = 1.0 if entry_id is not None else 0.0
    reply = NewReply(q.message_id, q.customer_id, q.channel, q.chat_id, entry_id, what, confidence, None, outbox_id)
    await faq_repo.add_reply(session, reply, now)
    return Outcome(what, reason, entry_id, confidence, None, outbox_id)
