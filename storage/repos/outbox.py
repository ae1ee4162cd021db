"""The outbox: insert-if-new on an idempotency key, claims by priority under a lease, guarded outcomes, listings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.outbox import OUTBOX_API, Outbox, OutboxKind, OutboxStatus

LIVE = (OutboxStatus.QUEUED, OutboxStatus.DEFERRED, OutboxStatus.SENDING)
RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.DEFERRED, OutboxStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class NewOutbox:
    kind: str
    recipient: str
    payload: dict[str, Any]
    priority: int
    idempotency_key: str
    not_before: datetime
    content_key: str | None = None


def new_row_values(row: NewOutbox, now: datetime) -> dict[str, Any]:
    """The column values of a new queued row (one insert or many: storage/repos/outbox_batch.py)."""
    return {
        "kind": row.kind,
        "api": OUTBOX_API[row.kind],
        "recipient": row.recipient,
        "payload": row.payload,
        "priority": row.priority,
        "status": OutboxStatus.QUEUED,
        "not_before": row.not_before,
        "due_at": row.not_before,
        "attempts": 0,
        "idempotency_key": row.idempotency_key,
        "content_key": row.content_key,
        "reason": "",
        "result": {},
        "created_at": now,
        "updated_at": now,
    }


async def insert_if_new(session: AsyncSession, row: NewOutbox, now: datetime) -> tuple[int, bool]:
    """Insert the row unless its idempotency key exists; returns (id, inserted)."""
    values = new_row_values(row, now)
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(Outbox).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Outbox.id)
    inserted = (await session.execute(stmt, values)).scalar_one_or_none()
    if inserted is not None:
        return int(inserted), True
    existing = await session.scalar(select(Outbox.id).where(Outbox.idempotency_key == row.idempotency_key))
    assert existing is not None
    return int(existing), False


async def due_rows(
    session: AsyncSession,
    now: datetime,
    limit: int,
    paused_apis: Collection[str],
    capped_kinds: Collection[str] = (),
    capped_limit: int | None = None,
) -> list[Outbox]:
    """Queued or deferred rows whose time has come, and leased rows whose lease ran out, by priority.

    Rows of `capped_kinds` take at most `capped_limit` of the `limit` places while other rows are due (they take the
    places left over when fewer are): a flood of one kind cannot keep a lower priority out of every batch.
    On PostgreSQL the rows stay locked (FOR UPDATE SKIP LOCKED) until the claim transaction commits.
    """
    if not capped_kinds or capped_limit is None:
        return await _due(session, now, limit, paused_apis)
    others = await _due(session, now, limit, paused_apis, Outbox.kind.not_in(list(capped_kinds)))
    room = max(capped_limit, limit - len(others))
    capped = await _due(session, now, room, paused_apis, Outbox.kind.in_(list(capped_kinds)))
    kept = others[: limit - len(capped)]  # the lowest of the others wait for the next claim
    return sorted([*kept, *capped], key=lambda r: (r.priority, r.due_at, r.id))


async def _due(
    session: AsyncSession, now: datetime, limit: int, paused_apis: Collection[str], *where: Any
) -> list[Outbox]:
    stmt = (
        select(Outbox)
        .where(Outbox.due_at.is_not(None), Outbox.due_at <= now, *where)
        .order_by(Outbox.priority, Outbox.due_at, Outbox.id)
        .limit(limit)
    )
    if paused_apis:
        stmt = stmt.where(Outbox.api.not_in(list(paused_apis)))
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def held(session: AsyncSession, leases: Collection[tuple[int, int]]) -> set[int]:
    """Which of these (row id, attempt) leases are still held: the row is `sending` under that very attempt.

    On PostgreSQL the rows are locked until the recording transaction ends, so no sender can reclaim one between
    this check and the update.
    """
    if not leases:
        return set()
    wanted = dict(leases)
    stmt = select(Outbox.id, Outbox.attempts).where(Outbox.id.in_(list(wanted)), Outbox.status == OutboxStatus.SENDING)
    if dialect_of(session) == "postgresql":
        stmt = stmt.order_by(Outbox.id).with_for_update()
    return {int(i) for i, attempts in (await session.execute(stmt)).all() if wanted.get(int(i)) == attempts}


async def finish_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write attempts' outcomes: one executemany per set of changed columns (ORM bulk UPDATE by primary key)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        await session.execute(update(Outbox), group)


async def get(session: AsyncSession, row_id: int) -> Outbox | None:
    return await session.get(Outbox, row_id)


async def exists_key(session: AsyncSession, idempotency_key: str) -> bool:
    """A row with this idempotency key was queued already (whatever became of it)."""
    stmt = select(Outbox.id).where(Outbox.idempotency_key == idempotency_key).limit(1)
    return (await session.execute(stmt)).first() is not None


async def pending_for(session: AsyncSession, kind: str, recipient: str, *, lock: bool = False) -> list[Outbox]:
    """Rows to `recipient` that no sender has taken yet, oldest first."""
    stmt = (
        select(Outbox)
        .where(
            Outbox.kind == kind,
            Outbox.recipient == recipient,
            Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.DEFERRED)),
        )
        .order_by(Outbox.id)
    )
    if lock and dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def count_in_flight(session: AsyncSession, kind: str, recipient: str) -> int:
    stmt = select(func.count()).where(
        Outbox.kind == kind, Outbox.recipient == recipient, Outbox.status == OutboxStatus.SENDING
    )
    return int(await session.scalar(stmt) or 0)


async def count_same_content(session: AsyncSession, content_key: str, since: datetime, exclude_id: int) -> int:
    """Earlier rows with identical content that went (or may have gone) out since `since`."""
    stmt = select(func.count()).where(
        Outbox.content_key == content_key,
        Outbox.first_attempt_at > since,
        Outbox.id != exclude_id,
        Outbox.status.in_((OutboxStatus.SENDING, OutboxStatus.SENT, OutboxStatus.UNKNOWN)),
    )
    return int(await session.scalar(stmt) or 0)


async def cancel_pending(session: AsyncSession, row_id: int, now: datetime, reason: str) -> bool:
    """Cancel a row no sender has taken yet."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.DEFERRED)))
        .values(status=OutboxStatus.CANCELLED, due_at=None, reason=reason, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def retry(session: AsyncSession, row_id: int, now: datetime) -> bool:
    """An operator's `qunke outbox retry`: the row goes back to the queue now with fresh attempts.

    A retried message is a new send as far as a customer's window goes, so it is charged again; a mass task keeps
    its reserved targets, and a row whose outcome was unknown keeps saying so (a mass task reconciles first).
    """
    row = await session.get(Outbox, row_id, with_for_update=dialect_of(session) == "postgresql")
    if row is None or row.status not in RETRYABLE:
        return False
    result = dict(row.result)
    if row.kind != OutboxKind.MASS_TASK:
        result.pop("counted", None)
        result.pop("kf_window_at", None)
    result.pop("failures", None)
    row.status, row.not_before, row.due_at, row.attempts = OutboxStatus.QUEUED, now, now, 0
    row.reason, row.result, row.updated_at = "retry requested by an operator", result, now
    return True


async def list_recent(
    session: AsyncSession, limit: int = 50, status: str | None = None, kind: str | None = None
) -> list[Outbox]:
    stmt = select(Outbox).order_by(Outbox.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Outbox.status == status)
    if kind:
        stmt = stmt.where(Outbox.kind == kind)
    return list((await session.execute(stmt)).scalars())


async def count_matching(session: AsyncSession, status: str | None = None, kind: str | None = None) -> int:
    """How many rows `list_recent` would show without its limit."""
    stmt = select(func.count()).select_from(Outbox)
    if status:
        stmt = stmt.where(Outbox.status == status)
    if kind:
        stmt = stmt.where(Outbox.kind == kind)
    return int(await session.scalar(stmt) or 0)


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    return {str(status): int(count) for status, count in rows.all()}


async def next_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the earliest live row falls due (None when nothing is live), so the sender can sleep until then."""
    stmt = select(func.min(Outbox.due_at)).where(Outbox.due_at.is_not(None), Outbox.due_at > now)
    value: datetime | None = await session.scalar(stmt)
    return value
