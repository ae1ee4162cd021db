"""Customer lifecycle entries: written once per fact (UNIQUE source key), read in time order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.customers import CustomerEvent


async def add_event_once(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    occurred_at: datetime,
    source_key: str,
    member_userid: str | None = None,
    chat_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Insert the entry unless one with the same source key exists; True when it was new."""
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = (
        insert(CustomerEvent)
        .values(
            customer_id=customer_id,
            kind=kind,
            occurred_at=occurred_at,
            source_key=source_key[:200],
            member_userid=member_userid,
            chat_id=chat_id,
            detail=detail or {},
        )
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(CustomerEvent.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def events_of(session: AsyncSession, customer_ids: Sequence[int]) -> list[CustomerEvent]:
    rows = await session.execute(
        select(CustomerEvent)
        .where(CustomerEvent.customer_id.in_(list(customer_ids)))
        .order_by(CustomerEvent.occurred_at, CustomerEvent.id)
    )
    return list(rows.scalars())


async def has_event_since(
    session: AsyncSession, *, customer_id: int, kinds: Sequence[str], chat_id: str, since: datetime
) -> bool:
    """Whether the customer has an entry of one of `kinds` in this chat at or after `since`."""
    rows = await session.execute(
        select(CustomerEvent.id)
        .where(
            CustomerEvent.customer_id == customer_id,
            CustomerEvent.kind.in_(list(kinds)),
            CustomerEvent.chat_id == chat_id,
            CustomerEvent.occurred_at >= since,
        )
        .limit(1)
    )
    return rows.scalar_one_or_none() is not None
