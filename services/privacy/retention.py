"""Data retention (DESIGN.md §7): messages and the raw texts around them older than N days are purged in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from storage.models.faq import FaqReply, UnansweredGroup, UnansweredQuestion
from storage.models.inbox import InboundEvent, InboxStatus
from storage.models.messages import Message

log = logging.getLogger("qunke.retention")

# One transaction per batch: a long purge never holds the write lock for long (SQLite has one writer).
DEFAULT_BATCH: Final = 1000


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    days: int  # 0: keep everything
    batch_size: int = DEFAULT_BATCH


@dataclass(frozen=True, slots=True)
class _Target:
    """One table the purge empties of old rows: its id column, and which rows are old."""

    name: str
    model: Any
    id_column: InstrumentedAttribute[int]
    old: Callable[[datetime], ColumnElement[bool]]


# Children before the rows they point at: FAQ reply logs and unanswered questions cite messages (the foreign keys
# would cascade, but purging them by their own age first keeps the counts honest). Ticket links (ticket_messages)
# go with their message by cascade; tickets.first_message_id and surveys.answer_message_id are set to NULL.
TARGETS: Final = (
    _Target("faq_replies", FaqReply, FaqReply.id, lambda cutoff: FaqReply.created_at < cutoff),
    _Target(
        "unanswered_questions",
        UnansweredQuestion,
        UnansweredQuestion.id,
        lambda cutoff: UnansweredQuestion.asked_at < cutoff,
    ),
    _Target("unanswered_groups", UnansweredGroup, UnansweredGroup.id, lambda cutoff: UnansweredGroup.last_at < cutoff),
    _Target("messages", Message, Message.id, lambda cutoff: Message.sent_at < cutoff),
    # Only events already handled: a failed or waiting one is still work (and `events retry` needs its payload).
    _Target(
        "inbound_events",
        InboundEvent,
        InboundEvent.id,
        lambda cutoff: (InboundEvent.received_at < cutoff) & (InboundEvent.status == InboxStatus.DONE),
    ),
)


async def purge_expired(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    policy: RetentionPolicy,
    on_purged: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Delete every row older than `policy.days` in each target table, `batch_size` rows per transaction.

    Returns the counts per table; `on_purged(table, n)` hears each batch (the metric).
    """
    if policy.days <= 0:
        return {}
    cutoff = now - timedelta(days=policy.days)
    counts: dict[str, int] = {}
    for target in TARGETS:
        counts[target.name] = await _purge_table(sessions, target, cutoff, policy.batch_size, on_purged)
    await _relabel_groups(sessions, cutoff)
    log.info("retention: purged rows older than %d days (before %s): %s", policy.days, cutoff.isoformat(), counts)
    return counts


async def _purge_table(
    sessions: async_sessionmaker[AsyncSession],
    target: _Target,
    cutoff: datetime,
    batch_size: int,
    on_purged: Callable[[str, int], None] | None,
) -> int:
    total = 0
    while True:
        async with sessions() as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(target.id_column).where(target.old(cutoff)).order_by(target.id_column).limit(batch_size)
                    )
                ).scalars()
            )
            if ids:
                await session.execute(delete(target.model).where(target.id_column.in_(ids)))
        if not ids:
            return total
        total += len(ids)
        if on_purged is not None:
            on_purged(target.name, len(ids))
        log.debug("retention: purged %d %s", len(ids), target.name)


async def _relabel_groups(sessions: async_sessionmaker[AsyncSession], cutoff: datetime) -> None:
    """A live group's label is its first question's words: once that question is purged, use the oldest left."""
    async with sessions() as session, session.begin():
        stale = (await session.execute(select(UnansweredGroup).where(UnansweredGroup.first_at < cutoff))).scalars()
        for group in list(stale):
            oldest = (
                await session.execute(
                    select(UnansweredQuestion)
                    .where(UnansweredQuestion.group_id == group.id)
                    .order_by(UnansweredQuestion.asked_at, UnansweredQuestion.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if oldest is None:
                await session.delete(group)
            else:
                group.label, group.first_at = oldest.text[:500], oldest.asked_at
