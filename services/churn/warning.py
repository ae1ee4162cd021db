"""The daily churn early warning: score every customer set-based, chunk by chunk, and tell the owner rep once.

Each chunk of customers (by id) is one transaction: a handful of grouped queries gather every signal for the
whole chunk (services/churn/reads.py, read while the chunk before is scored), the pure model scores each customer
(services/churn/model.py), one upsert writes the scores, and customers who crossed the threshold alert their owner
rep. Memory is bounded by two chunks, whatever the number of customers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.churn.alerting import alert_crossings, alertable
from services.churn.model import ChurnPolicy, assess
from services.churn.reads import ChunkReads, merged_roots, read_chunk, read_next_chunk
from storage.repos import churn as repo
from storage.repos import churn_list, contacts
from storage.repos.churn import CustomerRow, PreviousScore

# Customers scored between two yields to the event loop (a chunk of 2,000 takes ~50-100 ms of model time).
YIELD_EVERY: Final = 250


@dataclass(slots=True)
class ChurnRun:
    scored: int = 0
    at_risk: int = 0
    crossed: int = 0
    alerted: int = 0
    # Crossings that alerted nobody: the customer is already lost, or has no owner rep.
    not_alerted: int = 0

    def add(self, other: ChurnRun) -> None:
        for name in ("scored", "at_risk", "crossed", "alerted", "not_alerted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AtRisk:
    """One line of the at-risk list (`qunke churn list`, `qunke report service`)."""

    customer_id: int
    name: str
    external_userid: str | None
    owner_userid: str | None
    owner_name: str
    risk: float
    reasons: list[str]
    action: str
    scored_at: datetime
    crossed_at: datetime | None
    alerted_at: datetime | None
    lost: bool = False
    signals: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("scored_at", "crossed_at", "alerted_at"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        return data


async def run_churn(sessions: async_sessionmaker[AsyncSession], now: datetime, policy: ChurnPolicy) -> ChurnRun:
    """Score every customer; one transaction per chunk, so a crash keeps the chunks already done.

    The next chunk is read (on a second connection, in a transaction of its own) while this one is scored and
    written: the database works on the reads while Python runs the model. A chunk's reads touch nothing the
    chunk before it writes (its own customers' scores and alerts only)."""
    roots = await merged_roots(sessions)
    total = ChurnRun()
    ahead = asyncio.create_task(read_next_chunk(sessions, 0, roots, now, policy))
    try:
        while (reads := await ahead) is not None:
            ahead = asyncio.create_task(read_next_chunk(sessions, reads.chunk[-1].id, roots, now, policy))
            async with sessions() as session, session.begin():
                total.add(await write_chunk(session, reads, now, policy))
    finally:
        ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ahead
    return total


async def score_customers(
    session: AsyncSession, chunk: list[CustomerRow], roots: dict[int, int], now: datetime, policy: ChurnPolicy
) -> ChurnRun:
    """Read, score and write one chunk (ids ascending) in the caller's transaction."""
    return await write_chunk(session, await read_chunk(session, chunk, roots, now, policy), now, policy)


async def write_chunk(session: AsyncSession, reads: ChunkReads, now: datetime, policy: ChurnPolicy) -> ChurnRun:
    """Score the chunk's customers and write their scores and alerts."""
    run, rows, crossings = ChurnRun(scored=len(reads.chunk)), [], []
    for n, customer in enumerate(reads.chunk, start=1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # the model is CPU: let the next chunk's reads (and the webhook) move on
        result = assess(reads.histories[customer.id], policy)
        previous = reads.previous.get(customer.id)
        at_risk, crossed_at, alerted_at, crossed = _transition(previous, result.risk, now, policy)
        if crossed:
            run.crossed += 1
            if alertable(customer, reads.follows.get(customer.id, 0) > 0):
                crossings.append((customer, result))
        run.at_risk += at_risk
        rows.append(
            {
                "customer_id": customer.id,
                "risk": result.risk,
                "reasons": list(result.reasons),
                "features": result.features,
                "at_risk": at_risk,
                "scored_at": now,
                "crossed_at": crossed_at,
                "alerted_at": alerted_at,
            }
        )
    alerted = await alert_crossings(session, crossings, now)
    for row in rows:
        if row["customer_id"] in alerted:
            row["alerted_at"] = now
    run.alerted, run.not_alerted = len(alerted), run.crossed - len(alerted)
    await repo.upsert_scores(session, rows)
    return run


def _transition(
    prev: PreviousScore | None, risk: float, now: datetime, policy: ChurnPolicy
) -> tuple[bool, datetime | None, datetime | None, bool]:
    """(at_risk, crossed_at, alerted_at, crossed now). Once over, a customer stays over until they fall below
    threshold - rearm_margin, so a score wobbling around the threshold does not alert every other day."""
    if prev is not None and prev.at_risk:
        return risk >= policy.threshold - policy.rearm_margin, prev.crossed_at, prev.alerted_at, False
    if risk >= policy.threshold:
        return True, now, None, True
    return False, prev.crossed_at if prev else None, prev.alerted_at if prev else None, False


async def count_at_risk(session: AsyncSession, *, include_lost: bool = False) -> int:
    """How many customers `at_risk` would list without its limit."""
    return await churn_list.count_at_risk(session, include_lost)


async def at_risk(session: AsyncSession, limit: int = 50, *, include_lost: bool = False) -> list[AtRisk]:
    """The customers over the threshold now, riskiest first; lost customers only when asked for."""
    rows = await churn_list.at_risk_rows(session, limit, include_lost)
    names = await contacts.members_by_ids(session, {c.owner_userid for _, c in rows if c.owner_userid})
    return [
        AtRisk(
            customer_id=c.id,
            name=c.name,
            external_userid=c.external_userid,
            owner_userid=c.owner_userid,
            owner_name=names[c.owner_userid].name if c.owner_userid in names else "",
            risk=s.risk,
            reasons=list(s.reasons),
            action=str(s.features.get("action", "")),
            scored_at=s.scored_at,
            crossed_at=s.crossed_at,
            alerted_at=s.alerted_at,
            lost=c.lost_at is not None,
            signals=dict(s.features.get("signals", {})),
        )
        for s, c in rows
    ]
