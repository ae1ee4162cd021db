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


async def add_events_once(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Insert several entries in one statement, each unless one with its source key exists. An entry is the keyword
    arguments of `add_event_once`; a key repeated among them is written once (the first)."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key = str(entry["source_key"])[:200]
        rows.setdefault(
            key,
            {
                "customer_id": entry["customer_id"],
                "kind": entry["kind"],
                "occurred_at": entry["occurred_at"],
                "source_key": key,
                "member_userid": entry.get("member_userid"),
                "chat_id": entry.get("chat_id"),
                "detail": entry.get("detail") or {},
            },
        )
    if not rows:
        return
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    values = list(rows.values())
    for start in range(0, len(values), _INSERT_CHUNK):
        stmt = insert(CustomerEvent).values(values[start : start + _INSERT_CHUNK])
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["source_key"]))


# Rows per multi-row INSERT: 7 parameters each, far under either database's limit.
_INSERT_CHUNK = 1000


async def chat_events_since(
    session: AsyncSession, *, chat_id: str, customer_ids: Sequence[int], kinds: Sequence[str], since: datetime
) -> list[tuple[int, str, datetime]]:
    """(customer_id, kind, occurred_at) of these customers' entries of `kinds` in this chat at or after `since`:
    one read for a whole snapshot's joins and leaves."""
    if not customer_ids:
        return []
    rows = await session.execute(
        select(CustomerEvent.customer_id, CustomerEvent.kind, CustomerEvent.occurred_at).where(
            CustomerEvent.customer_id.in_(sorted(set(customer_ids))),
            CustomerEvent.kind.in_(list(kinds)),
            CustomerEvent.chat_id == chat_id,
            CustomerEvent.occurred_at >= since,
        )
    )
    return [(customer_id, kind, occurred_at) for customer_id, kind, occurred_at in rows.all()]


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
