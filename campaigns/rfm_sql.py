"""RFM in one statement: readings, ranks among purchasers, quintile scores and tiers, written by INSERT … SELECT.

The same rule as `campaigns.rfm.score`, in SQL with window functions: a value's share "strictly behind" is
(rank() − 1) / purchasers, ranking recency descending (fewer days is better) and frequency and amount ascending;
the quintile score is 1 + min(4, trunc(share × 5)) and "high" is share ≥ 0.5. The share is computed in double
precision, as Python does, so scores at a fifth's edge come out the same. Recency is whole days, floored, computed
exactly on either database (a numeric epoch on PostgreSQL; integer seconds and microseconds on SQLite, whose times
are stored as text).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.base import UtcDateTime

_RECENCY: Final = {
    "postgresql": "floor(extract(epoch from (CAST(:now AS timestamptz) - last_at)) / 86400)",
    # Integer arithmetic only: seconds since the epoch, plus the stored microseconds (characters 21-26).
    "sqlite": "((CAST(strftime('%s', :now) AS INTEGER) - CAST(strftime('%s', last_at) AS INTEGER)) * 1000000"
    " + CAST(substr(:now, 21, 6) AS INTEGER) - CAST(substr(last_at, 21, 6) AS INTEGER)) / 86400000000",
}
_FLOAT: Final = {"postgresql": "float8", "sqlite": "REAL"}
_TRUNC: Final = {"postgresql": "CAST(floor({x}) AS integer)", "sqlite": "CAST({x} AS INTEGER)"}

_STATEMENT: Final = """
WITH readings AS (
    SELECT c.id AS customer_id, max(p.purchased_at) AS last_at,
           count(CASE WHEN p.purchased_at >= :since THEN p.id END) AS frequency,
           coalesce(sum(CASE WHEN p.purchased_at >= :since THEN p.amount_cents ELSE 0 END), 0) AS monetary
    FROM customers c LEFT OUTER JOIN purchases p ON p.customer_id = c.id
    WHERE c.merged_into_id IS NULL
    GROUP BY c.id
), aged AS (
    SELECT customer_id, frequency, monetary,
           CASE WHEN last_at IS NULL THEN NULL WHEN {recency} < 0 THEN 0 ELSE {recency} END AS recency
    FROM readings
), shares AS (
    SELECT customer_id, recency, frequency, monetary,
           CAST(rank() OVER (ORDER BY recency DESC) - 1 AS {float}) / count(*) OVER () AS r,
           CAST(rank() OVER (ORDER BY frequency) - 1 AS {float}) / count(*) OVER () AS f,
           CAST(rank() OVER (ORDER BY monetary) - 1 AS {float}) / count(*) OVER () AS m
    FROM aged WHERE recency IS NOT NULL
)
INSERT INTO rfm_scores
    (customer_id, recency_days, frequency, monetary_cents, r_score, f_score, m_score, tier, computed_at)
SELECT customer_id, recency, frequency, monetary, {q_r}, {q_f}, {q_m}, {tier}, :now FROM shares
UNION ALL
SELECT customer_id, NULL, frequency, monetary, 0, 0, 0, :unscored, :now FROM aged WHERE recency IS NULL
"""


def _quintile(share: str, dialect: str) -> str:
    fifth = _TRUNC[dialect].format(x=f"{share} * 5")
    return f"1 + CASE WHEN {fifth} > 4 THEN 4 ELSE {fifth} END"


def _tier(tiers: Mapping[tuple[bool, bool, bool], str]) -> tuple[str, dict[str, str]]:
    """CASE over (R, F, M) high or not, each tier name a bound parameter."""
    whens, params = [], {}
    for n, ((r, f, m), name) in enumerate(tiers.items()):
        cond = " AND ".join(f"{col} {'>=' if high else '<'} 0.5" for col, high in (("r", r), ("f", f), ("m", m)))
        whens.append(f"WHEN {cond} THEN :tier{n}")
        params[f"tier{n}"] = name
    return "CASE " + " ".join(whens) + " END", params


async def insert_scores(
    session: AsyncSession,
    now: datetime,
    window_days: int,
    tiers: Mapping[tuple[bool, bool, bool], str],
    unscored: str,
) -> None:
    """Score every customer into the (emptied) rfm_scores table in one statement."""
    dialect = "postgresql" if dialect_of(session) == "postgresql" else "sqlite"
    tier, names = _tier(tiers)
    sql = _STATEMENT.format(
        recency=_RECENCY[dialect],
        float=_FLOAT[dialect],
        q_r=_quintile("r", dialect),
        q_f=_quintile("f", dialect),
        q_m=_quintile("m", dialect),
        tier=tier,
    )
    stmt = text(sql).bindparams(bindparam("now", type_=UtcDateTime()), bindparam("since", type_=UtcDateTime()))
    await session.execute(stmt, {"now": now, "since": now - timedelta(days=window_days), "unscored": unscored, **names})
