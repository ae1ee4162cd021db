"""Outbox and service-alert rows written many at a time: one statement per batch instead of one per row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.outbox import Outbox, OutboxStatus
from storage.models.service import ServiceAlert
from storage.repos.outbox import NewOutbox, new_row_values

_PENDING = (OutboxStatus.QUEUED, OutboxStatus.DEFERRED)


async def insert_many_if_new(session: AsyncSession, rows: Sequence[NewOutbox], now: datetime) -> list[int]:
    """Insert the rows in order unless their idempotency key exists; each row's id (the existing one's if taken).

    Rows are inserted in the given order, so ids ascend as they would with one insert per row."""
    if not rows:
        return []
    values = [new_row_values(row, now) for row in rows]
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(Outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
    inserted = await session.execute(stmt.returning(Outbox.id, Outbox.idempotency_key), values)
    found = {key: int(rid) for rid, key in inserted}
    missing = [row.idempotency_key for row in rows if row.idempotency_key not in found]
    if missing:
        taken = select(Outbox.id, Outbox.idempotency_key).where(Outbox.idempotency_key.in_(missing))
        found.update({key: int(rid) for rid, key in await session.execute(taken)})
    return [found[row.idempotency_key] for row in rows]


async def pending_counts(session: AsyncSession, kind: str, recipients: Sequence[str]) -> dict[str, int]:
    """How many rows to each recipient no sender has taken yet (queued or deferred)."""
    stmt = (
        select(Outbox.recipient, func.count())
        .where(Outbox.kind == kind, Outbox.recipient.in_(list(recipients)), Outbox.status.in_(_PENDING))
        .group_by(Outbox.recipient)
    )
    return {str(recipient): int(n) for recipient, n in (await session.execute(stmt)).all()}


async def pending_digests(session: AsyncSession, kind: str, recipients: Sequence[str]) -> list[Outbox]:
    """The pending digest rows to these recipients, oldest first, locked on PostgreSQL (they may grow)."""
    stmt = (
        select(Outbox)
        .where(
            Outbox.kind == kind,
            Outbox.recipient.in_(list(recipients)),
            Outbox.status.in_(_PENDING),
            Outbox.payload["digest"].is_not(None),
        )
        .order_by(Outbox.id)
    )
    if dialect_of(session) == "postgresql":
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def update_digests(session: AsyncSession, payloads: dict[int, dict[str, Any]], now: datetime) -> set[int]:
    """Pending digest rows given their grown payloads; the ids actually updated (still queued or deferred).

    One statement for all of them (`CASE id WHEN … THEN …`): the churn job's first run grows up to one digest per
    rep per chunk, and one UPDATE each was ~100 round trips per chunk."""
    if not payloads:
        return set()
    grown = case(
        {row_id: bindparam(None, payload, type_=Outbox.payload.type) for row_id, payload in payloads.items()},
        value=Outbox.id,
    )
    stmt = (
        update(Outbox)
        .where(Outbox.id.in_(list(payloads)), Outbox.status.in_(_PENDING))
        .values(payload=grown, content_key=None, updated_at=now)
        .returning(Outbox.id)
    )
    return {int(row_id) for (row_id,) in await session.execute(stmt)}


async def claim_alerts(
    session: AsyncSession, claims: Sequence[tuple[str, str, int | None, str]], now: datetime
) -> dict[str, int]:
    """Claim (key, kind, customer_id, member) alerts in order; {key: alert id} for those not claimed before."""
    if not claims:
        return {}
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(ServiceAlert).on_conflict_do_nothing(index_elements=["alert_key"])
    values = [
        {"alert_key": key[:200], "kind": kind, "customer_id": cid, "member_userid": member, "created_at": now}
        for key, kind, cid, member in claims
    ]
    rows = await session.execute(stmt.returning(ServiceAlert.id, ServiceAlert.alert_key), values)
    return {key: int(aid) for aid, key in rows}


async def link_alerts(session: AsyncSession, links: dict[int, int]) -> None:
    """Each claimed alert's outbox row, for tracing it to its delivery (one executemany)."""
    if links:
        await session.execute(update(ServiceAlert), [{"id": a, "outbox_id": o} for a, o in links.items()])
