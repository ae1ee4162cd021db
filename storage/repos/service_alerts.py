"""Alerts the service loop sent (SLA steps, churn crossings), each under a UNIQUE key so a rerun sends nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.service import ServiceAlert


async def claim(
    session: AsyncSession, key: str, kind: str, customer_id: int | None, member_userid: str, now: datetime
) -> int | None:
    """Record that this alert goes out; None when it already did (the caller then sends nothing)."""
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = (
        insert(ServiceAlert)
        .values(alert_key=key[:200], kind=kind, customer_id=customer_id, member_userid=member_userid, created_at=now)
        .on_conflict_do_nothing(index_elements=["alert_key"])
        .returning(ServiceAlert.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def link_outbox(session: AsyncSession, alert_id: int, outbox_id: int) -> None:
    """The outbox row that carries the alert, for tracing it to its delivery."""
    await session.execute(update(ServiceAlert).where(ServiceAlert.id == alert_id).values(outbox_id=outbox_id))
