"""Retention cohorts by month of first contact: of the customers first seen in a month, how many were active
(wrote a message or bought) in that month and each month after, scoped by the Viewer."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, customer_scope
from services.reports.months import Table, last_months, month_key, month_start, months_between, percent
from storage.models.customers import Customer
from storage.models.messages import Message, SenderKind
from storage.models.purchases import Purchase

HORIZON: Final = 6  # columns: month 0 (the month of first contact) to month 5


async def retention_cohorts(session: AsyncSession, viewer: Viewer, now: datetime, zone: str, months: int = 12) -> Table:
    first = month_start(last_months(now, zone, months)[0], zone)
    customers = select(Customer.id).where(
        customer_scope(viewer), Customer.merged_into_id.is_(None), Customer.first_seen_at >= first
    )
    cohort_of: dict[int, str] = {
        cid: month_key(seen, zone)
        for cid, seen in await session.execute(
            select(Customer.id, Customer.first_seen_at).where(Customer.id.in_(customers))
        )
    }
    active: dict[int, set[str]] = defaultdict(set)
    for statement in (
        select(Message.customer_id, Message.sent_at).where(
            Message.customer_id.in_(customers), Message.sender_kind == SenderKind.CUSTOMER, Message.sent_at >= first
        ),
        select(Purchase.customer_id, Purchase.purchased_at).where(
            Purchase.customer_id.in_(customers), Purchase.purchased_at >= first
        ),
    ):
        for cid, at in await session.execute(statement):
            if cid is not None:
                active[cid].add(month_key(at, zone))
    return _table(cohort_of, active, month_key(now, zone))


def _table(cohort_of: dict[int, str], active: dict[int, set[str]], current: str) -> Table:
    sizes: dict[str, int] = defaultdict(int)
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * HORIZON)
    for cid, cohort in cohort_of.items():
        sizes[cohort] += 1
        for month in active.get(cid, ()):
            offset = months_between(cohort, month)
            if 0 <= offset < HORIZON:
                counts[cohort][offset] += 1
    header = ["首次接触月份", "新客户数", *(f"第{k}月留存%" for k in range(HORIZON))]
    rows = []
    series = []
    for cohort in sorted(sizes):
        reached = months_between(cohort, current)  # later months have not happened yet: left empty
        shares = [percent(counts[cohort][k], sizes[cohort]) if k <= reached else None for k in range(HORIZON)]
        rows.append([cohort, sizes[cohort], *("" if s is None else s for s in shares)])
        series.append({"name": cohort, "values": shares})
    chart = {"kind": "line", "labels": [f"第{k}月" for k in range(HORIZON)], "series": series}
    return Table(header, rows, chart)
