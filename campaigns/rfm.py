"""RFM, daily and set-based: recency, frequency and amount per customer, quintile scores 1-5 and the eight tiers.

R is the days since the last purchase, F the purchases in the last `window_days`, M their amount. A customer is
"high" on a measure when they beat at least half of the purchasers (above the median: ties at the median are not
above it, so a base where everyone bought once has nobody high on F). Quintile scores use the same rule: the score
is 1 + the share of purchasers strictly behind, in fifths. Customers who never bought are 未购客户 with zero scores.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import rfm_sql
from campaigns.segment_filter import RFM_TIERS
from campaigns.segment_sql import UNSCORED_TIER
from storage.models.campaigns import RfmScore
from storage.models.customers import Customer
from storage.models.purchases import Purchase

WINDOW_DAYS: Final = 365
INSERT_CHUNK: Final = 5000
# (R high, F high, M high) -> tier, the classic eight cells.
TIERS: Final = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}


@dataclass(frozen=True, slots=True)
class Reading:
    customer_id: int
    recency_days: int | None
    frequency: int
    monetary_cents: int


@dataclass(frozen=True, slots=True)
class RfmSummary:
    customers: int
    purchasers: int
    by_tier: dict[str, int]
    computed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "purchasers": self.purchasers,
            "by_tier": self.by_tier,
            "computed_at": self.computed_at.isoformat(),
        }


class _Rank:
    """Where a value stands among all purchasers' values: the share strictly behind it."""

    def __init__(self, values: Sequence[int], higher_is_better: bool) -> None:
        self._sorted = sorted(values if higher_is_better else [-v for v in values])
        self._sign = 1 if higher_is_better else -1

    def behind(self, value: int) -> float:
        if not self._sorted:
            return 0.0
        return bisect.bisect_left(self._sorted, self._sign * value) / len(self._sorted)


def score(reading: Reading, ranks: tuple[_Rank, _Rank, _Rank]) -> tuple[int, int, int, str]:
    """Quintile scores and the tier of one purchaser."""
    r, f, m = ranks
    values = (reading.recency_days or 0, reading.frequency, reading.monetary_cents)
    shares = [rank.behind(value) for rank, value in zip((r, f, m), values, strict=True)]
    quintiles = [1 + min(4, int(share * 5)) for share in shares]
    high = tuple(share >= 0.5 for share in shares)
    return quintiles[0], quintiles[1], quintiles[2], TIERS[(high[0], high[1], high[2])]


async def read_purchases(session: AsyncSession, now: datetime, window_days: int) -> list[Reading]:
    """Every customer's reading in Python: the reference the SQL in campaigns/rfm_sql.py is tested against."""
    since = now - timedelta(days=window_days)
    in_window = Purchase.purchased_at >= since
    rows = await session.execute(
        select(
            Customer.id,
            func.max(Purchase.purchased_at),
            func.count(case((in_window, Purchase.id))),
            func.coalesce(func.sum(case((in_window, Purchase.amount_cents), else_=0)), 0),
        )
        .outerjoin(Purchase, Purchase.customer_id == Customer.id)
        .where(Customer.merged_into_id.is_(None))
        .group_by(Customer.id)
    )
    readings: list[Reading] = []
    for customer_id, last, count, amount in rows:
        recency = None if last is None else max(0, (now - _aware(last, now)).days)
        readings.append(Reading(int(customer_id), recency, int(count), int(amount)))
    return readings


def _aware(moment: datetime, like: datetime) -> datetime:
    # SQLite hands back naive UTC; PostgreSQL an aware value.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


async def run_rfm(
    sessions: async_sessionmaker[AsyncSession], now: datetime, window_days: int = WINDOW_DAYS
) -> RfmSummary:
    """Score every customer and replace the table in one transaction (readers see the old set or the new one):
    one DELETE and one INSERT ... SELECT (campaigns/rfm_sql.py), no row through Python."""
    async with sessions() as session, session.begin():
        await session.execute(delete(RfmScore))
        await rfm_sql.insert_scores(session, now, window_days, TIERS, UNSCORED_TIER)
        counted = await session.execute(select(RfmScore.tier, func.count()).group_by(RfmScore.tier))
        tiers = Counter({str(tier): int(n) for tier, n in counted})
    customers = sum(tiers.values())
    by_tier = {name: tiers[name] for name in RFM_TIERS if tiers[name]}
    return RfmSummary(customers, customers - tiers[UNSCORED_TIER], by_tier, now)


async def list_scores(session: AsyncSession, tier: str | None = None, limit: int = 100) -> tuple[list[Any], int]:
    """The latest scores (best customers first), optionally of one tier, and how many there are in all."""
    query = select(RfmScore, Customer.name, Customer.owner_userid).join(Customer, Customer.id == RfmScore.customer_id)
    counted = select(func.count()).select_from(RfmScore)
    if tier is not None:
        query = query.where(RfmScore.tier == tier)
        counted = counted.where(RfmScore.tier == tier)
    order = (RfmScore.monetary_cents.desc(), RfmScore.customer_id)
    rows = list(await session.execute(query.order_by(*order).limit(limit)))
    return rows, int(await session.scalar(counted) or 0)
