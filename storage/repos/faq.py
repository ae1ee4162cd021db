"""What the FAQ did: replies per message, unanswered questions and their groups, and each group chat's FAQ mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.faq import (
    FaqDecision,
    FaqReply,
    GroupFaqSetting,
    UnansweredGroup,
    UnansweredQuestion,
    UnansweredStatus,
)
from storage.models.messages import Message, SenderKind
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus


@dataclass(frozen=True, slots=True)
class NewReply:
    message_id: int | None
    customer_id: int | None
    channel: str
    chat_id: str
    entry_id: str | None
    decision: str
    confidence: float
    member_userid: str | None = None
    outbox_id: int | None = None


async def add_reply(session: AsyncSession, reply: NewReply, now: datetime) -> FaqReply:
    row = FaqReply(
        message_id=reply.message_id,
        customer_id=reply.customer_id,
        channel=reply.channel,
        chat_id=reply.chat_id[:160],
        entry_id=reply.entry_id,
        decision=reply.decision,
        confidence=reply.confidence,
        member_userid=reply.member_userid,
        outbox_id=reply.outbox_id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def reply_for_message(session: AsyncSession, message_id: int) -> FaqReply | None:
    return (await session.execute(select(FaqReply).where(FaqReply.message_id == message_id))).scalar_one_or_none()


async def answered_recently(
    session: AsyncSession, customer_id: int, entry_id: str, since: datetime, *, chat_id: str | None = None
) -> bool:
    """Did the bot already answer (or have a rep answer) this entry for this customer since `since`, in `chat_id`
    when given (repeats count per conversation: a group suggestion does not silence a kf answer)?"""
    stmt = (
        select(FaqReply.id)
        .where(
            FaqReply.customer_id == customer_id,
            FaqReply.entry_id == entry_id,
            FaqReply.created_at >= since,
            FaqReply.decision.in_((FaqDecision.ANSWERED, FaqDecision.SUGGESTED, FaqDecision.TASK)),
            # A "did you mean" menu (a suggestion with no member) answered nothing yet: the customer may ask again.
            or_(FaqReply.decision != FaqDecision.SUGGESTED, FaqReply.member_userid.is_not(None)),
        )
        .limit(1)
    )
    if chat_id is not None:
        stmt = stmt.where(FaqReply.chat_id == chat_id)
    return (await session.execute(stmt)).first() is not None


async def misses_since_help(session: AsyncSession, customer_id: int, chat_id: str) -> int:
    """Questions in this chat not answered confidently since the bot last answered or handed the customer over.

    Messages are compared by id (the order they were stored), not by clocks that may disagree.
    """
    helped = (
        select(func.max(FaqReply.message_id))
        .where(
            FaqReply.customer_id == customer_id,
            FaqReply.chat_id == chat_id,
            FaqReply.decision.in_((FaqDecision.ANSWERED, FaqDecision.HANDOFF)),
        )
        .scalar_subquery()
    )
    stmt = select(func.count()).where(
        UnansweredQuestion.customer_id == customer_id,
        UnansweredQuestion.chat_id == chat_id,
        UnansweredQuestion.message_id > func.coalesce(helped, 0),
    )
    return int(await session.scalar(stmt) or 0)


# ---- unanswered questions ------------------------------------------------------------------------------------


async def open_groups(session: AsyncSession, limit: int = 2000) -> list[UnansweredGroup]:
    """The open groups most recently seen first; new questions are compared against these."""
    stmt = (
        select(UnansweredGroup)
        .where(UnansweredGroup.status == UnansweredStatus.OPEN)
        .order_by(UnansweredGroup.last_at.desc(), UnansweredGroup.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def group(session: AsyncSession, group_id: int, *, lock: bool = False) -> UnansweredGroup | None:
    return await session.get(UnansweredGroup, group_id, with_for_update=lock)


async def add_group(
    session: AsyncSession, label: str, normalized: str, entry_id: str | None, score: float, now: datetime
) -> UnansweredGroup:
    row = UnansweredGroup(
        label=label[:500],
        normalized=normalized[:500],
        count=0,
        best_entry_id=entry_id,
        best_score=score,
        status=UnansweredStatus.OPEN,
        first_at=now,
        last_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def add_question(session: AsyncSession, question: UnansweredQuestion) -> None:
    session.add(question)
    await session.flush()


async def question_for_message(session: AsyncSession, message_id: int) -> UnansweredQuestion | None:
    stmt = select(UnansweredQuestion).where(UnansweredQuestion.message_id == message_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_groups(session: AsyncSession, *, include_closed: bool, limit: int = 500) -> list[UnansweredGroup]:
    stmt = select(UnansweredGroup).order_by(UnansweredGroup.count.desc(), UnansweredGroup.last_at.desc()).limit(limit)
    if not include_closed:
        stmt = stmt.where(UnansweredGroup.status == UnansweredStatus.OPEN)
    return list((await session.execute(stmt)).scalars())


async def questions_of(session: AsyncSession, group_id: int) -> list[UnansweredQuestion]:
    stmt = select(UnansweredQuestion).where(UnansweredQuestion.group_id == group_id).order_by(UnansweredQuestion.id)
    return list((await session.execute(stmt)).scalars())


# ---- group chats' FAQ mode -----------------------------------------------------------------------------------


async def group_mode(session: AsyncSession, chat_id: str) -> str | None:
    return await session.scalar(select(GroupFaqSetting.mode).where(GroupFaqSetting.chat_id == chat_id))


async def set_group_mode(session: AsyncSession, chat_id: str, mode: str, by: str, now: datetime) -> None:
    row = await session.get(GroupFaqSetting, chat_id)
    if row is None:
        session.add(GroupFaqSetting(chat_id=chat_id, mode=mode, updated_by=by, updated_at=now))
    else:
        row.mode, row.updated_by, row.updated_at = mode, by, now
    await session.flush()


async def member_spoke_after(session: AsyncSession, chat_id: str, message_id: int) -> bool:
    """Did a member (a rep) say anything in this chat after the message? Stored order, not clocks, decides."""
    stmt = (
        select(Message.id)
        .where(Message.chat_id == chat_id, Message.id > message_id, Message.sender_kind == SenderKind.MEMBER)
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def handoff_in_flight(session: AsyncSession, recipient: str) -> bool:
    """Is a kf hand-off for this customer still waiting to go, or going? (A second one would only be refused.)"""
    stmt = (
        select(Outbox.id)
        .where(
            Outbox.kind == OutboxKind.KF_TRANS,
            Outbox.recipient == recipient,
            Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.DEFERRED, OutboxStatus.SENDING)),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None
