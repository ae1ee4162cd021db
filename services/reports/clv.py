"""Customer lifetime value by RFM tier: customers, orders and spend to date per tier, scoped by the Viewer."""

from __future__ import annotations

from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, customer_scope
from services.reports.months import Table
from storage.models.campaigns import RfmScore
from storage.models.customers import Customer
from storage.models.purchases import Purchase

UNRATED: Final = "未评分"  # no RFM reading yet (the daily job has not seen them)
# The classic eight cells, then those who never bought, then those not rated yet (DESIGN.md §11).
TIER_ORDER: Final = (
    "重要价值客户",
    "重要发展客户",
    "重要保持客户",
    "重要挽留客户",
    "一般价值客户",
    "一般发展客户",
    "一般保持客户",
    "一般挽留客户",
    "未购客户",
    UNRATED,
)


async def clv_by_tier(session: AsyncSession, viewer: Viewer) -> Table:
    spend = (
        select(
            Purchase.customer_id.label("customer_id"),
            func.count().label("orders"),
            func.sum(Purchase.amount_cents).label("cents"),
        )
        .group_by(Purchase.customer_id)
        .subquery()
    )
    tier = func.coalesce(RfmScore.tier, UNRATED)
    found = await session.execute(
        select(
            tier,
            func.count(Customer.id),
            func.sum(func.coalesce(spend.c.orders, 0)),
            func.sum(func.coalesce(spend.c.cents, 0)),
        )
        .select_from(Customer)
        .outerjoin(RfmScore, RfmScore.customer_id == Customer.id)
        .outerjoin(spend, spend.c.customer_id == Customer.id)
        .where(customer_scope(viewer), Customer.merged_into_id.is_(None))
        .group_by(tier)
    )
    by_tier = {name: (int(n), int(orders or 0), int(cents or 0)) for name, n, orders, cents in found}
    header = ["RFM 分层", "客户数", "订单数", "累计消费（元）", "人均消费（元）", "人均订单数", "客单价（元）"]
    rows = []
    for name in sorted(by_tier, key=lambda t: (TIER_ORDER.index(t) if t in TIER_ORDER else len(TIER_ORDER), t)):
        customers, orders, cents = by_tier[name]
        rows.append(
            [
                name,
                customers,
                orders,
                _yuan(cents),
                _yuan(cents / customers) if customers else "",
                round(orders / customers, 2) if customers else "",
                _yuan(cents / orders) if orders else "",
            ]
        )
    chart = {
        "kind": "bar",
        "labels": [row[0] for row in rows],
        "series": [{"name": "人均消费（元）", "values": [row[4] or 0 for row in rows]}],
    }
    return Table(header, rows, chart)


def _yuan(cents: float) -> float:
    return round(cents / 100, 2)
