"""Learning from menu taps: the words of a question answered by a "did you mean" tap become a pending variant.

The question's unanswered record carries the menu's entries (`detail.menu`). A tap on one of them marks it
`menu_picked`: a pending variant of that entry, which a manager confirms (taught to the KB) or rejects in
`qunke faq unanswered`. Nothing reaches the KB without the manager: a customer may tap the wrong line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import unanswered
from services.faq.kb import KbError
from services.faq.menus import CONFIRMED, DECLINED, MENU_SENT, PICKED, REJECTED
from storage.models.faq import UnansweredQuestion
from storage.repos.faq_menus import questions_with_decision

MENU_LIFETIME: Final = timedelta(hours=48)  # a tap answers a menu of the same kf session


@dataclass(frozen=True, slots=True)
class PendingVariant:
    id: int  # the unanswered question's id: what `faq confirm-variant` takes
    entry_id: str
    text: str
    asked_at: datetime
    group_id: int


async def picked(
    session: AsyncSession, customer_id: int | None, chat_id: str, entry_id: str, now: datetime
) -> PendingVariant | None:
    """Mark the customer's latest menu question that offered `entry_id` as a pending variant of it."""
    if customer_id is None:
        return None
    recent = await questions_with_decision(
        session, MENU_SENT, customer_id=customer_id, chat_id=chat_id, since=now - MENU_LIFETIME, limit=20
    )
    for question in recent:
        offered = question.detail.get("menu")
        if isinstance(offered, list) and entry_id in offered:
            question.decision = PICKED
            question.detail = {**question.detail, "picked": entry_id, "picked_at": now.isoformat()}
            return _view(question)
    return None


async def declined(session: AsyncSession, customer_id: int | None, chat_id: str, now: datetime) -> str | None:
    """ "都不是": the customer's latest menu question goes to a person; it stays unanswered and can no longer be
    taught by a later tap on the same menu. The question's words, or None when no menu question is open."""
    if customer_id is None:
        return None
    recent = await questions_with_decision(
        session, MENU_SENT, customer_id=customer_id, chat_id=chat_id, since=now - MENU_LIFETIME, limit=1
    )
    if not recent:
        return None
    recent[0].decision = DECLINED
    recent[0].detail = {**recent[0].detail, "declined_at": now.isoformat()}
    return recent[0].text


async def pending(session: AsyncSession) -> list[PendingVariant]:
    """Variants customers taught by tapping, waiting for a manager, newest first."""
    return [_view(q) for q in await questions_with_decision(session, PICKED, limit=500)]


async def confirm(session: AsyncSession, question_id: int, now: datetime, *, similarity: float) -> PendingVariant:
    """Teach the pending variant to its entry (the running bot uses it at once) and close the groups it answers."""
    question = await _pending(session, question_id)
    view = _view(question)
    await unanswered.teach(session, view.entry_id, view.text, now, similarity=similarity)
    question.decision = CONFIRMED
    return view


async def reject(session: AsyncSession, question_id: int) -> PendingVariant:
    """The tap was not what the customer asked: the words stay out of the KB (the question stays unanswered)."""
    question = await _pending(session, question_id)
    question.decision = REJECTED
    return _view(question)


async def _pending(session: AsyncSession, question_id: int) -> UnansweredQuestion:
    question = await session.get(UnansweredQuestion, question_id, with_for_update=True)
    if question is None or question.decision != PICKED:
        raise KbError(f"没有编号为 {question_id} 的待确认问法 / no pending variant {question_id}")
    return question


def _view(q: UnansweredQuestion) -> PendingVariant:
    return PendingVariant(q.id, str(q.detail.get("picked", "")), q.text, q.asked_at, q.group_id)
