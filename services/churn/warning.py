"""The daily churn early warning: score every customer set-based, chunk by chunk, and tell the owner rep once.

Each chunk of customers (by id) is one transaction: a handful of grouped queries gather every signal for the
whole chunk (storage/repos/churn.py), the pure model scores each customer (services/churn/model.py), one
executemany upserts the scores, and customers who crossed the threshold alert their owner rep. Memory is bounded
by the chunk size, whatever the number of customers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.churn.alerting import alert_crossings, alertable
from services.churn.model import ChurnPolicy, History, assess
from services.churn.words import candidate_terms, negative_terms
from services.customers.timeline import EntryKind
from storage.repos import churn as repo
from storage.repos import contacts
from storage.repos.churn import CustomerRow, PreviousScore, Span

GROUP_LEAVES: Final = (EntryKind.LEFT_GROUP,)
MAX_MERGE_CHAIN: Final = 16
NEGATIVE_CANDIDATES: Final = candidate_terms()


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
    """Score every customer; one transaction per chunk, so a crash keeps the chunks already done."""
    async with sessions() as session:
        roots = _roots(await repo.merged_roots(session))
    total, after = ChurnRun(), 0
    while True:
        async with sessions() as session, session.begin():
            chunk = await repo.customer_chunk(session, after, policy.chunk_size)
            if not chunk:
                break
            total.add(await score_customers(session, chunk, roots, now, policy))
        after = chunk[-1].id
    return total


async def score_customers(
    session: AsyncSession, chunk: list[CustomerRow], roots: dict[int, int], now: datetime, policy: ChurnPolicy
) -> ChurnRun:
    """Score the customers of one chunk (ids ascending) and write their scores and alerts."""
    ids = {c.id for c in chunk}
    span = Span(chunk[0].id, chunk[-1].id, tuple(sorted(m for m, r in roots.items() if r in ids)))
    histories = await gather_histories(session, span, chunk, roots, now, policy)
    previous = await repo.previous_scores(session, span)
    follows = _by_root(await repo.active_follows(session, span), roots)
    run, rows, crossings = ChurnRun(scored=len(chunk)), [], []
    for customer in chunk:
        result = assess(histories[customer.id], policy)
        at_risk, crossed_at, alerted_at, crossed = _transition(previous.get(customer.id), result.risk, now, policy)
        if crossed:
            run.crossed += 1
            if alertable(customer, follows.get(customer.id, 0) > 0):
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


async def gather_histories(
    session: AsyncSession,
    span: Span,
    chunk: list[CustomerRow],
    roots: dict[int, int],
    now: datetime,
    policy: ChurnPolicy,
) -> dict[int, History]:
    """Every signal's raw facts for the chunk: one grouped query each, merged profiles folded into their person."""
    day = timedelta(days=1)
    recent_since = now - policy.recent_days * day
    # Window 0 also takes messages stamped a little ahead of our clock.
    bounds = [now + day] + [now - k * policy.recent_days * day for k in range(1, policy.windows + 1)]
    buckets: dict[int, list[int]] = defaultdict(lambda: [0] * policy.windows)
    for cid, counts in (await repo.message_buckets(session, span, bounds)).items():
        mine = buckets[roots.get(cid, cid)]
        buckets[roots.get(cid, cid)] = [a + b for a, b in zip(mine, counts, strict=True)]
    bought: dict[int, list[datetime]] = defaultdict(list)
    for cid, times in (await repo.purchase_times(session, span)).items():
        bought[roots.get(cid, cid)].extend(t for t in times if t <= now)
    score_since = now - policy.score_max_age_days * day
    answered = await repo.survey_scores(session, span, score_since)
    on_profile = await repo.profile_scores(session, span, score_since)
    # A merged profile's scores stand in only where the person's own profile has none (its entries come last).
    surveys = {(roots.get(c, c), k): v for (c, k), v in sorted(answered.items(), key=lambda kv: kv[0][0] not in roots)}
    profile = {
        (roots.get(c, c), k): v for (c, k), v in sorted(on_profile.items(), key=lambda kv: kv[0][0] not in roots)
    }
    tickets = _by_root_pairs(await repo.open_tickets(session, span), roots)
    left = _by_root(await repo.event_counts(session, span, GROUP_LEAVES, recent_since), roots)
    negative = _negatives(await repo.recent_texts(session, span, recent_since, NEGATIVE_CANDIDATES), roots)
    out: dict[int, History] = {}
    for c in chunk:
        out[c.id] = History(
            age_days=max(0.0, (now - c.first_seen_at) / day),
            windows=tuple(buckets[c.id]),
            purchase_ages=tuple((now - t) / day for t in sorted(bought.get(c.id, []))),
            csat=_scores(surveys, profile, c.id, "csat"),
            nps=_scores(surveys, profile, c.id, "nps"),
            open_tickets=tickets.get(c.id, (0, 0))[0],
            reopened_tickets=tickets.get(c.id, (0, 0))[1],
            negative_messages=negative.get(c.id, (0, ""))[0],
            negative_example=negative.get(c.id, (0, ""))[1],
            groups_left=left.get(c.id, 0),
        )
    return out


def _scores(
    surveys: dict[tuple[int, str], list[int]], profile: dict[tuple[int, str], int], cid: int, kind: str
) -> tuple[int, ...]:
    # Answered surveys carry the history (latest and previous); the profile's score stands in when there are none.
    if (cid, kind) in surveys:
        return tuple(surveys[(cid, kind)])
    return (profile[(cid, kind)],) if (cid, kind) in profile else ()


def _negatives(texts: Iterable[tuple[int, str]], roots: dict[int, int]) -> dict[int, tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    for cid, text in texts:
        terms = negative_terms(text)
        if terms:
            root = roots.get(cid, cid)
            count, example = found.get(root, (0, ""))
            found[root] = (count + 1, example or terms[0])
    return found


def _by_root(counts: dict[int, int], roots: dict[int, int]) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for cid, n in counts.items():
        out[roots.get(cid, cid)] += n
    return out


def _by_root_pairs(counts: dict[int, tuple[int, int]], roots: dict[int, int]) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for cid, (a, b) in counts.items():
        root = roots.get(cid, cid)
        x, y = out.get(root, (0, 0))
        out[root] = (x + a, y + b)
    return out


def _roots(parents: dict[int, int]) -> dict[int, int]:
    """Each merged profile's person (the end of its merge chain)."""
    roots: dict[int, int] = {}
    for cid in parents:
        root = cid
        for _ in range(MAX_MERGE_CHAIN):
            if root not in parents:
                break
            root = parents[root]
        roots[cid] = root
    return roots


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
    return await repo.count_at_risk(session, include_lost)


async def at_risk(session: AsyncSession, limit: int = 50, *, include_lost: bool = False) -> list[AtRisk]:
    """The customers over the threshold now, riskiest first; lost customers only when asked for."""
    rows = await repo.at_risk_rows(session, limit, include_lost)
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
