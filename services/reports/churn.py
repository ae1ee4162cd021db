"""Churn and repurchase rates by month, scoped by the Viewer.

Churn rate of a month: of the customers already known at its start and not yet lost, the share lost during it
(`customers.lost_at`). Repurchase rate of a month: of the customers who bought during it, the share who had bought
before it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, customer_scope
from services.reports.months import Table, last_months, month_key, month_start, percent
from storage.models.customers import Customer
from storage.models.purchases import Purchase


async def churn_and_repurchase(
    session: AsyncSession, viewer: Viewer, now: datetime, zone: str, months: int = 12
) -> Table:
    visible = select(Customer.id).where(customer_scope(viewer), Customer.merged_into_id.is_(None))
    people = list(
        await session.execute(select(Customer.first_seen_at, Customer.lost_at).where(Customer.id.in_(visible)))
    )
    bought: dict[int, list[datetime]] = defaultdict(list)
    for cid, at in await session.execute(
        select(Purchase.customer_id, Purchase.purchased_at).where(Purchase.customer_id.in_(visible))
    ):
        bought[cid].append(_utc(at))
    header = ["月份", "月初客户数", "流失客户数", "流失率%", "购买客户数", "复购客户数", "复购率%"]
    rows, churn_series, repurchase_series = [], [], []
    starts = last_months(now, zone, months)
    for i, first_day in enumerate(starts):
        start = month_start(first_day, zone)
        end = month_start(starts[i + 1], zone) if i + 1 < len(starts) else None
        base = [lost for seen, lost in people if _utc(seen) < start and (lost is None or _utc(lost) >= start)]
        lost = sum(1 for at in base if at is not None and (end is None or _utc(at) < end))
        buyers = repeat = 0
        for times in bought.values():
            if any(start <= t and (end is None or t < end) for t in times):
                buyers += 1
                repeat += any(t < start for t in times)
        churn, repurchase = percent(lost, len(base)), percent(repeat, buyers)
        rows.append([month_key(start, zone), len(base), lost, _cell(churn), buyers, repeat, _cell(repurchase)])
        churn_series.append(churn)
        repurchase_series.append(repurchase)
    chart = {
        "kind": "line",
        "labels": [row[0] for row in rows],
        "series": [{"name": "流失率%", "values": churn_series}, {"name": "复购率%", "values": repurchase_series}],
    }
    return Table(header, rows, chart)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _cell(value: float | None) -> float | str:
    return "" if value is None else value
