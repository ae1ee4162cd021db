"""Reads for a page of stored chat messages at once: one query per kind of fact instead of one per message."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import CustomerTag
from storage.models.groups import Group
from storage.models.messages import Message
from storage.models.service import ChatWait, WaitStatus
from storage.models.surveys import Survey, SurveyStatus

# Well under SQLite's bound-parameter limit, and small enough for PostgreSQL's planner to use the indexes.
_CHUNK = 500
T = TypeVar("T")


def _chunks(values: Collection[T]) -> list[list[T]]:
    items = list(values)
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


async def messages_by_source_keys(session: AsyncSession, keys: Collection[str]) -> dict[str, Message]:
    found: dict[str, Message] = {}
    for chunk in _chunks(keys):
        rows = await session.execute(select(Message).where(Message.source_key.in_(chunk)))
        found.update((m.source_key, m) for m in rows.scalars())
    return found


async def customers_with_pending_survey(
    session: AsyncSession, customer_ids: Collection[int], now: datetime
) -> set[int]:
    """Those of `customer_ids` with a pending, unexpired survey (services/surveys/answers.py pending_for's test)."""
    found: set[int] = set()
    for chunk in _chunks(customer_ids):
        rows = await session.execute(
            select(Survey.customer_id)
            .where(Survey.customer_id.in_(chunk), Survey.status == SurveyStatus.PENDING, Survey.expires_at > now)
            .distinct()
        )
        found.update(cid for (cid,) in rows if cid is not None)
    return found


async def tag_names_of(session: AsyncSession, customer_ids: Collection[int]) -> dict[int, set[str]]:
    """Each customer's tag names across every rep (storage/repos/waits.py tag_names, for many customers)."""
    found: dict[int, set[str]] = {cid: set() for cid in customer_ids}
    for chunk in _chunks(customer_ids):
        rows = await session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_name).where(CustomerTag.customer_id.in_(chunk))
        )
        for cid, name in rows:
            if name:
                found[cid].add(name)
    return found


async def group_owners(session: AsyncSession, chat_ids: Collection[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(chat_ids):
        rows = await session.execute(select(Group.chat_id, Group.owner_userid).where(Group.chat_id.in_(chunk)))
        found.update((chat_id, owner) for chat_id, owner in rows if owner)
    return found


async def chats_with_open_waits(session: AsyncSession, chat_ids: Collection[str]) -> set[str]:
    """The chats among `chat_ids` where some customer is still waiting for an answer."""
    found: set[str] = set()
    for chunk in _chunks(chat_ids):
        rows = await session.execute(
            select(ChatWait.chat_id)
            .where(ChatWait.chat_id.in_(chunk), ChatWait.status == WaitStatus.WAITING)
            .distinct()
        )
        found.update(chat for (chat,) in rows)
    return found
