"""What the churn job reads for one chunk of customers: every signal's raw facts, one grouped query each.

`read_next_chunk` runs in a transaction of its own, so the job can read the next chunk while it scores and writes
the current one (services/churn/warning.py); merged profiles are folded into the person they were merged into.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.churn.model import ChurnPolicy, History
from services.churn.words import candidate_terms, negative_terms
from services.customers.timeline import EntryKind
from storage.repos import churn as repo
from storage.repos.churn import CustomerRow, PreviousScore, Span

GROUP_LEAVES: Final = (EntryKind.LEFT_GROUP,)
MAX_MERGE_CHAIN: Final = 16
NEGATIVE_CANDIDATES: Final = candidate_terms()


@dataclass(frozen=True, slots=True)
class ChunkReads:
    """One chunk's customers (ids ascending) and everything scoring them needs."""

    chunk: list[CustomerRow]
    histories: dict[int, History]
    previous: dict[int, PreviousScore]
    follows: dict[int, int]


async def merged_roots(sessions: async_sessionmaker[AsyncSession]) -> dict[int, int]:
    """Each merged profile's person, for the whole run (few rows: merges are a manager's act)."""
    async with sessions() as session:
        return _roots(await repo.merged_roots(session))


async def read_next_chunk(
    sessions: async_sessionmaker[AsyncSession], after: int, roots: dict[int, int], now: datetime, policy: ChurnPolicy
) -> ChunkReads | None:
    """The chunk after customer `after`, read in a transaction of its own; None when no customer is left."""
    async with sessions() as session, session.begin():
        chunk = await repo.customer_chunk(session, after, policy.chunk_size)
        return await read_chunk(session, chunk, roots, now, policy) if chunk else None


async def read_chunk(
    session: AsyncSession, chunk: list[CustomerRow], roots: dict[int, int], now: datetime, policy: ChurnPolicy
) -> ChunkReads:
    """Everything scoring `chunk` (ids ascending, not empty) needs, on the caller's session."""
    ids = {c.id for c in chunk}
    span = Span(chunk[0].id, chunk[-1].id, tuple(sorted(m for m, r in roots.items() if r in ids)))
    histories = await gather_histories(session, span, chunk, roots, now, policy)
    previous = await repo.previous_scores(session, span)
    follows = _by_root(await repo.active_follows(session, span), roots)
    return ChunkReads(chunk, histories, previous, follows)


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
    buckets: dict[int, tuple[int, ...]] = {}
    for cid, counts in (await repo.message_buckets(session, span, bounds)).items():
        root = roots.get(cid, cid)
        mine = buckets.get(root)
        buckets[root] = counts if mine is None else tuple(a + b for a, b in zip(mine, counts, strict=True))
    silent = (0,) * policy.windows
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
            windows=buckets.get(c.id, silent),
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
