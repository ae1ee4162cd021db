"""Messages from every channel: written once per source key, read per customer cluster or per chat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.messages import Message


@dataclass(frozen=True, slots=True)
class NewMessage:
    source_key: str
    channel: str
    chat_type: str
    chat_id: str
    sender_kind: str
    sender_id: str
    customer_id: int | None
    member_userid: str | None
    msgtype: str
    text: str
    sent_at: datetime
    body: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {
            "source_key": self.source_key[:200],
            "channel": self.channel,
            "chat_type": self.chat_type,
            "chat_id": self.chat_id[:160],
            "sender_kind": self.sender_kind,
            "sender_id": self.sender_id[:64],
            "customer_id": self.customer_id,
            "member_userid": self.member_userid,
            "msgtype": self.msgtype[:32],
            "text": self.text,
            "body": self.body,
            "sent_at": self.sent_at,
        }


async def add_many_once(session: AsyncSession, messages: Sequence[NewMessage]) -> set[str]:
    """Insert as one executemany (SQLAlchemy batches it into multi-row statements and caches the compiled form),
    skipping source keys already stored; returns the keys that were new."""
    if not messages:
        return set()
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(Message).on_conflict_do_nothing(index_elements=["source_key"]).returning(Message.source_key)
    result = await session.execute(stmt, [m.values() for m in messages])
    return {key for (key,) in result.all()}


async def mark_recalled(session: AsyncSession, source_key: str, at: datetime) -> bool:
    result = await session.execute(
        update(Message)
        .where(Message.source_key == source_key, Message.recalled_at.is_(None))
        .values(recalled_at=at)
        .returning(Message.id)
    )
    return result.first() is not None


async def by_source_key(session: AsyncSession, source_key: str) -> Message | None:
    return (await session.execute(select(Message).where(Message.source_key == source_key))).scalar_one_or_none()


async def of_customers(session: AsyncSession, customer_ids: Sequence[int], limit: int = 500) -> list[Message]:
    """The latest `limit` messages of these customers, oldest first."""
    rows = await session.execute(
        select(Message)
        .where(Message.customer_id.in_(list(customer_ids)))
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.scalars().all()))


async def of_chat(session: AsyncSession, chat_id: str, limit: int = 500) -> list[Message]:
    rows = await session.execute(
        select(Message)
        .where(Message.chat_id == chat_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.scalars().all()))
