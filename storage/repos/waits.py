"""Waiting customers (chat_waits) and the service alerts sent about them: intent-named queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.customers import CustomerTag
from storage.models.faq import FaqDecision, FaqReply
from storage.models.messages import Message
from storage.models.service import ChatWait, ServiceAlert, WaitStatus


@dataclass(frozen=True, slots=True)
class NewWait:
    channel: str
    chat_type: str
    chat_id: str
    customer_id: int
    owner_userid: str | None
    first_message_id: int | None
    question: str
    policy: str
    waiting_since: datetime
    due_at: datetime
    next_check_at: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """How a wait ended: by whom, when, and the response time in wall and business seconds."""

    by: str
    at: datetime
    wall_s: float
    business_s: float
    breached: bool


async def open_once(session: AsyncSession, wait: NewWait) -> int | None:
    """Open the wait unless this customer already waits in this chat (the first question keeps its time)."""
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = (
        insert(ChatWait)
        .values(**asdict(wait), stage=0, status=WaitStatus.WAITING, breached=False)
        .on_conflict_do_nothing(
            # The partial unique index's own predicate, spelled the same (SQLite matches it textually).
            index_elements=["chat_id", "customer_id"],
            index_where=text("status = 'waiting'"),
        )
        .returning(ChatWait.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_many(session: AsyncSession, waits: Sequence[NewWait]) -> None:
    """`open_once` for many waits in one statement, in order: a customer who already waits in the chat, or whose
    earlier wait in `waits` came first, keeps the first question's time."""
    if not waits:
        return
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    # Against the Table with the rows as parameters: one executemany, without the ORM's per-row bookkeeping.
    table = cast(Table, ChatWait.__table__)
    stmt = insert(table).on_conflict_do_nothing(
        index_elements=["chat_id", "customer_id"], index_where=text("status = 'waiting'")
    )
    # Shallow, unlike asdict (which deep-copies every datetime): the values are immutable.
    rows = [{**_fields(w), "stage": 0, "status": WaitStatus.WAITING, "breached": False} for w in waits]
    await session.execute(stmt, rows)


def _fields(wait: NewWait) -> dict[str, object]:
    return {name: getattr(wait, name) for name in NewWait.__slots__}


async def waiting_in_chat(
    session: AsyncSession, chat_id: str, asked_by: datetime, customer_id: int | None = None
) -> list[ChatWait]:
    """Open waits in a chat whose question came no later than `asked_by` (an answer cannot precede a question)."""
    stmt = select(ChatWait).where(
        ChatWait.chat_id == chat_id, ChatWait.status == WaitStatus.WAITING, ChatWait.waiting_since <= asked_by
    )
    if customer_id is not None:
        stmt = stmt.where(ChatWait.customer_id == customer_id)
    return list((await session.execute(stmt.order_by(ChatWait.id))).scalars())


async def due(session: AsyncSession, now: datetime, limit: int) -> list[ChatWait]:
    """Open waits whose next step is due, oldest first; other processes skip the rows this one holds."""
    stmt = (
        select(ChatWait)
        .where(ChatWait.status == WaitStatus.WAITING, ChatWait.next_check_at <= now)
        .order_by(ChatWait.next_check_at, ChatWait.id)
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def answered_by_bot(session: AsyncSession, limit: int) -> list[tuple[ChatWait, datetime]]:
    """Open waits where the FAQ answered one of the customer's questions in that chat since the wait began, with
    the time of the first such answer."""
    first_answer = func.min(FaqReply.created_at)
    found = await session.execute(
        select(ChatWait.id, first_answer)
        .join(
            Message,
            and_(
                Message.chat_id == ChatWait.chat_id,
                Message.customer_id == ChatWait.customer_id,
                Message.sent_at >= ChatWait.waiting_since,
            ),
        )
        .join(FaqReply, and_(FaqReply.message_id == Message.id, FaqReply.decision == FaqDecision.ANSWERED))
        .where(ChatWait.status == WaitStatus.WAITING)
        .group_by(ChatWait.id)
        .limit(limit)
    )
    times = {row[0]: row[1] for row in found}
    if not times:
        return []
    waits = (await session.execute(select(ChatWait).where(ChatWait.id.in_(list(times))))).scalars()
    return [(w, times[w.id]) for w in waits]


async def close(session: AsyncSession, wait_id: int, answer: Answer) -> bool:
    """Record the answer on a wait that is still open; False when someone else closed it first."""
    result = await session.execute(
        update(ChatWait)
        .where(ChatWait.id == wait_id, ChatWait.status == WaitStatus.WAITING)
        .values(
            status=WaitStatus.ANSWERED,
            answered_at=answer.at,
            answered_by=answer.by,
            response_s=answer.wall_s,
            business_response_s=answer.business_s,
            breached=answer.breached,
            next_check_at=None,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def advance(
    session: AsyncSession, wait_id: int, from_stage: int, to_stage: int, next_check_at: datetime | None
) -> bool:
    """Move an open wait to its next stage, only from the stage the caller saw (a concurrent close or tick wins)."""
    values: dict[str, object] = {"stage": to_stage, "next_check_at": next_check_at}
    result = await session.execute(
        update(ChatWait)
        .where(ChatWait.id == wait_id, ChatWait.status == WaitStatus.WAITING, ChatWait.stage == from_stage)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def set_owner(session: AsyncSession, wait_id: int, owner_userid: str | None) -> None:
    await session.execute(update(ChatWait).where(ChatWait.id == wait_id).values(owner_userid=owner_userid))


async def alerts_for(session: AsyncSession, key_prefix: str) -> list[ServiceAlert]:
    rows = await session.execute(
        select(ServiceAlert).where(ServiceAlert.alert_key.startswith(key_prefix)).order_by(ServiceAlert.id)
    )
    return list(rows.scalars())


async def tag_names(session: AsyncSession, customer_id: int) -> set[str]:
    """The customer's tag names, across every rep who tagged them."""
    rows = await session.execute(select(CustomerTag.tag_name).where(CustomerTag.customer_id == customer_id))
    return {name for (name,) in rows if name}


async def answered_between(session: AsyncSession, start: datetime, end: datetime) -> Sequence[ChatWait]:
    """Waits answered in [start, end): the response-time record."""
    rows = await session.execute(
        select(ChatWait)
        .where(ChatWait.status == WaitStatus.ANSWERED, ChatWait.answered_at >= start, ChatWait.answered_at < end)
        .order_by(ChatWait.answered_at, ChatWait.id)
    )
    return list(rows.scalars())


async def overdue_open(
    session: AsyncSession, start: datetime, end: datetime, escalated_stage: int
) -> Sequence[ChatWait]:
    """Waits still open whose deadline fell in [start, end) and that the tick has already escalated."""
    rows = await session.execute(
        select(ChatWait)
        .where(
            ChatWait.status == WaitStatus.WAITING,
            ChatWait.stage >= escalated_stage,
            ChatWait.due_at >= start,
            ChatWait.due_at < end,
        )
        .order_by(ChatWait.due_at, ChatWait.id)
    )
    return list(rows.scalars())
