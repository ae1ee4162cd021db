"""The churn at-risk list: customers over the threshold now, riskiest first (`qunke churn list`, reports)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import Customer
from storage.models.service import ChurnScore


async def at_risk_rows(session: AsyncSession, limit: int, include_lost: bool) -> list[tuple[ChurnScore, Customer]]:
    stmt = (
        select(ChurnScore, Customer)
        .join(Customer, Customer.id == ChurnScore.customer_id)
        .where(ChurnScore.at_risk.is_(True))
        .order_by(ChurnScore.risk.desc(), ChurnScore.customer_id)
        .limit(limit)
    )
    if not include_lost:
        stmt = stmt.where(Customer.lost_at.is_(None))
    return [(score, customer) for score, customer in (await session.execute(stmt)).all()]


async def count_at_risk(session: AsyncSession, include_lost: bool) -> int:
    """How many rows `at_risk_rows` would give without its limit."""
    stmt = (
        select(func.count())
        .select_from(ChurnScore)
        .join(Customer, Customer.id == ChurnScore.customer_id)
        .where(ChurnScore.at_risk.is_(True))
    )
    if not include_lost:
        stmt = stmt.where(Customer.lost_at.is_(None))
    return int(await session.scalar(stmt) or 0)
