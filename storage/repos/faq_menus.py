"""Queries behind the FAQ's customer menus: greetings already sent, the most-asked entries, menu questions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.faq import FaqDecision, FaqReply, KbEntry, KbQuestion, UnansweredQuestion
from storage.models.outbox import Outbox


async def sent_with_key_since(
    session: AsyncSession, kind: str, recipient: str, key_prefix: str, since: datetime
) -> bool:
    """Has an outbox row of `kind` to `recipient`, whose key starts with `key_prefix`, been queued since `since`?"""
    stmt = (
        select(Outbox.id)
        .where(
            Outbox.kind == kind,
            Outbox.recipient == recipient,
            Outbox.idempotency_key.startswith(f"{kind}:{key_prefix}", autoescape=True),
            Outbox.created_at >= since,
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def kf_replied_since(session: AsyncSession, customer_id: int, chat_id: str, since: datetime) -> bool:
    """Has the bot answered or offered a menu to this customer in this chat since `since`?"""
    stmt = (
        select(FaqReply.id)
        .where(
            FaqReply.customer_id == customer_id,
            FaqReply.chat_id == chat_id,
            FaqReply.created_at >= since,
            FaqReply.outbox_id.is_not(None),
            FaqReply.member_userid.is_(None),  # sent to the customer, not a suggestion to a rep
            FaqReply.decision.in_((FaqDecision.ANSWERED, FaqDecision.SUGGESTED)),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def most_answered(session: AsyncSession, since: datetime, limit: int) -> list[str]:
    """Enabled entries the bot answered most often since `since`, most first (ties by id)."""
    count = func.count(FaqReply.id)
    stmt = (
        select(FaqReply.entry_id)
        .join(KbEntry, KbEntry.id == FaqReply.entry_id)
        .where(KbEntry.enabled.is_(True), FaqReply.decision == FaqDecision.ANSWERED, FaqReply.created_at >= since)
        .group_by(FaqReply.entry_id)
        .order_by(count.desc(), FaqReply.entry_id)
        .limit(limit)
    )
    return [str(e) for e in (await session.execute(stmt)).scalars()]


async def enabled_entry_ids(session: AsyncSession, limit: int) -> list[str]:
    """Enabled entries in KB order: the order their questions were first stored (an import keeps the file's order),
    entries without a question last, ties by id."""
    first = func.min(KbQuestion.id)
    stmt = (
        select(KbEntry.id)
        .outerjoin(KbQuestion, KbQuestion.entry_id == KbEntry.id)
        .where(KbEntry.enabled.is_(True))
        .group_by(KbEntry.id)
        .order_by(first.is_(None), first, KbEntry.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def questions_with_decision(
    session: AsyncSession,
    decision: str,
    *,
    customer_id: int | None = None,
    chat_id: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[UnansweredQuestion]:
    """Unanswered questions the FAQ marked with `decision`, newest first, narrowed to one customer and chat."""
    stmt = select(UnansweredQuestion).where(UnansweredQuestion.decision == decision)
    if customer_id is not None:
        stmt = stmt.where(UnansweredQuestion.customer_id == customer_id)
    if chat_id is not None:
        stmt = stmt.where(UnansweredQuestion.chat_id == chat_id)
    if since is not None:
        stmt = stmt.where(UnansweredQuestion.asked_at >= since)
    stmt = stmt.order_by(UnansweredQuestion.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())
