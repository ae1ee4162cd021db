"""RFM's single INSERT … SELECT gives, customer by customer, what the Python rule gives (ties, fifths' edges)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.rfm import _Rank, read_purchases, run_rfm, score
from campaigns.segment_sql import UNSCORED_TIER
from storage.db import make_sessionmaker
from storage.models.campaigns import RfmScore
from storage.models.customers import Customer
from storage.models.purchases import Purchase

NOW = datetime(2026, 12, 6, 4, 0, 0, 250_000, tzinfo=UTC)


async def test_sql_scores_equal_the_python_rule_when_values_tie_and_sit_on_day_edges(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    rng = random.Random(5)
    async with sessions() as s, s.begin():
        s.add_all(Customer(id=i, external_userid=f"wm{i}", name=f"客户{i}", first_seen_at=NOW) for i in range(1, 161))
        await s.flush()
        for cid in range(1, 141):  # 20 customers never bought
            for n in range(rng.choice((1, 1, 2, 3, 5))):
                # Whole days ago, a microsecond either side of a day's edge, or older than the window.
                ago = timedelta(days=rng.choice((0, 1, 7, 30, 30, 200, 364, 365, 400)))
                ago += timedelta(microseconds=rng.choice((-1, 0, 1, 0)))
                amount = rng.choice((990, 990, 5000, 12000, 99900))
                s.add(Purchase(customer_id=cid, reference=f"R{cid}-{n}", amount_cents=amount, purchased_at=NOW - ago))

    await run_rfm(sessions, NOW)

    async with sessions() as s:
        readings = await read_purchases(s, NOW, 365)
        stored = {r.customer_id: r for r in (await s.execute(select(RfmScore))).scalars()}
    buyers = [r for r in readings if r.recency_days is not None]
    ranks = (
        _Rank([r.recency_days or 0 for r in buyers], higher_is_better=False),
        _Rank([r.frequency for r in buyers], higher_is_better=True),
        _Rank([r.monetary_cents for r in buyers], higher_is_better=True),
    )
    for reading in readings:
        got = stored[reading.customer_id]
        want = score(reading, ranks) if reading.recency_days is not None else (0, 0, 0, UNSCORED_TIER)
        assert (got.recency_days, got.frequency, got.monetary_cents) == (
            reading.recency_days,
            reading.frequency,
            reading.monetary_cents,
        )
        assert (got.r_score, got.f_score, got.m_score, got.tier) == want, reading
