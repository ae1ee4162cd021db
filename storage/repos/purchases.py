"""Purchases: inserted once per order reference, read per customer or newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.purchases import Purchase


@dataclass(frozen=True, slots=True)
class NewPurchase:
    reference: str
    customer_id: int
    item: str
    amount_cents: int
    purchased_at: datetime

    def values(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "customer_id": self.customer_id,
            "item": self.item,
            "amount_cents": self.amount_cents,
            "purchased_at": self.purchased_at,
        }


async def add_many_once(session: AsyncSession, rows: Sequence[NewPurchase]) -> set[str]:
    """One executemany that skips references already stored; returns the references that were new."""
    if not rows:
        return set()
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = insert(Purchase).on_conflict_do_nothing(index_elements=["reference"]).returning(Purchase.reference)
    result = await session.execute(stmt, [r.values() for r in rows])
    return {reference for (reference,) in result.all()}


async def by_references(session: AsyncSession, references: Sequence[str]) -> dict[str, Purchase]:
    if not references:
        return {}
    rows = await session.execute(select(Purchase).where(Purchase.reference.in_(list(set(references)))))
    return {p.reference: p for p in rows.scalars()}


async def of_customers(session: AsyncSession, customer_ids: Sequence[int]) -> list[Purchase]:
    rows = await session.execute(
        select(Purchase)
        .where(Purchase.customer_id.in_(list(customer_ids)))
        .order_by(Purchase.purchased_at, Purchase.id)
    )
    return list(rows.scalars())


async def list_recent(session: AsyncSession, limit: int, customer_id: int | None = None) -> list[Purchase]:
    stmt = select(Purchase).order_by(Purchase.purchased_at.desc(), Purchase.id.desc()).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(Purchase.customer_id == customer_id)
    return list((await session.execute(stmt)).scalars())


async def count_recent(session: AsyncSession, customer_id: int | None = None) -> int:
    """How many rows `list_recent` would show without its limit."""
    stmt = select(func.count()).select_from(Purchase)
    if customer_id is not None:
        stmt = stmt.where(Purchase.customer_id == customer_id)
    return int(await session.scalar(stmt) or 0)
