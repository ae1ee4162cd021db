"""The durable inbox: insert-if-new with a UNIQUE dedupe key, locked claims, done/retry/failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.db import dialect_of
from storage.models.inbox import InboundEvent, InboxStatus


@dataclass(frozen=True, slots=True)
class NewInbound:
    dedupe_key: str
    source: str
    kind: str
    payload: str
    received_at: datetime


async def insert_many_if_new(
    session: AsyncSession | AsyncConnection, rows: Sequence[NewInbound], not_before: datetime | None = None
) -> set[str]:
    """Insert the rows whose dedupe key is new; returns the keys that were inserted (the rest were replays).

    `not_before` delays processing, which makes the inbox double as a durable queue of follow-up jobs. On an
    autocommit connection (the webhook's inbox writer) the one statement is its own transaction.
    """
    if not rows:
        return set()
    values = [
        {
            "dedupe_key": r.dedupe_key,
            "source": r.source,
            "kind": r.kind,
            "payload": r.payload,
            "received_at": r.received_at,
            "status": InboxStatus.NEW,
            "attempts": 0,
            "next_attempt_at": not_before or r.received_at,
            "last_error": "",
        }
        for r in rows
    ]
    dialect = session.dialect.name if isinstance(session, AsyncConnection) else dialect_of(session)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Rows go as parameters, not as a multi-row VALUES literal: SQLAlchemy batches them ("insertmanyvalues") at
    # a fraction of the CPU, and the statement compiles once instead of once per batch size. Against the Table,
    # not the mapped class: the ORM's bulk-insert path would only add per-row bookkeeping on the webhook's path.
    table = cast(Table, InboundEvent.__table__)
    stmt = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.dedupe_key)
    return set((await session.execute(stmt, values)).scalars())


async def claim_batch(session: AsyncSession, now: datetime, limit: int) -> list[InboundEvent]:
    """Take up to `limit` of the oldest due events, in id order, inside the caller's transaction.

    On PostgreSQL the rows stay locked (FOR UPDATE SKIP LOCKED) until that transaction ends, so several workers
    share the queue, and a worker that crashes releases its batch the moment its connection drops. SQLite runs
    one worker by design and needs no lock.
    """
    stmt = (
        select(InboundEvent)
        .where(InboundEvent.status == InboxStatus.NEW, InboundEvent.next_attempt_at <= now)
        .order_by(InboundEvent.id)
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def begin_sqlite_write(session: AsyncSession) -> None:
    """Open the session's SQLite transaction as a write transaction now (BEGIN IMMEDIATE).

    The sqlite3 driver only begins a transaction before a DML statement, so a SAVEPOINT opened first would start
    (and its RELEASE commit) a transaction of its own; and a transaction that read first could not become a writer
    once another connection committed (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not wait out).
    """
    await session.execute(text("BEGIN IMMEDIATE"))


async def mark_done_many(session: AsyncSession, event_ids: Sequence[int], unhandled: set[int], now: datetime) -> None:
    """Mark a batch done in one statement; the events in `unhandled` carry the note "unhandled"."""
    if not event_ids:
        return
    note = case((InboundEvent.id.in_(unhandled), "unhandled"), else_="") if unhandled else ""
    await session.execute(
        update(InboundEvent)
        .where(InboundEvent.id.in_(event_ids))
        .values(status=InboxStatus.DONE, processed_at=now, last_error=note)
    )


async def record_failure(
    session: AsyncSession, event_id: int, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """Count a failed attempt: schedule the retry, or mark the event failed when `retry_at` is None."""
    values: dict[str, object] = {"attempts": InboundEvent.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values.update(status=InboxStatus.FAILED, processed_at=now)
    else:
        values["next_attempt_at"] = retry_at
    # Only while still queued: another worker may have taken and finished it after our rollback.
    await session.execute(
        update(InboundEvent).where(InboundEvent.id == event_id, InboundEvent.status == InboxStatus.NEW).values(**values)
    )


async def retry_failed(session: AsyncSession, now: datetime, event_ids: Sequence[int] | None = None) -> int:
    """Put failed events back in the queue (an operator's `qunke events retry`)."""
    stmt = update(InboundEvent).where(InboundEvent.status == InboxStatus.FAILED)
    if event_ids:
        stmt = stmt.where(InboundEvent.id.in_(event_ids))
    result = await session.execute(stmt.values(status=InboxStatus.NEW, next_attempt_at=now, attempts=0))
    return int(getattr(result, "rowcount", 0) or 0)


async def count_matching(session: AsyncSession, status: str | None = None, kind: str | None = None) -> int:
    """How many rows `list_recent` would show without its limit."""
    stmt = select(func.count()).select_from(InboundEvent)
    if status:
        stmt = stmt.where(InboundEvent.status == status)
    if kind:
        stmt = stmt.where(InboundEvent.kind == kind)
    return int(await session.scalar(stmt) or 0)


async def list_recent(
    session: AsyncSession, limit: int = 50, status: str | None = None, kind: str | None = None
) -> list[InboundEvent]:
    stmt = select(InboundEvent).order_by(InboundEvent.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(InboundEvent.status == status)
    if kind:
        stmt = stmt.where(InboundEvent.kind == kind)
    return list((await session.execute(stmt)).scalars())
