"""Churn and RFM benchmark: the daily jobs over 100,000 customers with a year of messages, on SQLite and PostgreSQL.

Churn runs beside a per-customer query loop (the same queries, one customer at a time); RFM beside its previous
code path (every reading through Python and back with an executemany insert), both measured in the same run, and
the two RFM tables are compared row for row."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.support` live beside the installed packages

import asyncpg  # noqa: E402
from sqlalchemy import delete, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench.churn_load import kinds_for, load_postgres, load_sqlite, slice_of  # noqa: E402
from campaigns.rfm import TIERS, _Rank, read_purchases, run_rfm, score  # noqa: E402
from campaigns.segment_sql import UNSCORED_TIER  # noqa: E402
from services.churn.model import ChurnPolicy  # noqa: E402
from services.churn.warning import run_churn, score_customers  # noqa: E402
from storage.db import create_db_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.campaigns import RfmScore  # noqa: E402
from storage.models.service import ChurnScore  # noqa: E402
from storage.repos import churn as repo  # noqa: E402
from tests.support.churn_histories import AT_RISK, HEALTHY  # noqa: E402
from tests.support.postgres import PostgresUnavailable, start_cluster  # noqa: E402

NOW: Final = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)
SLICE: Final = 5000


@dataclass
class Row:
    backend: str
    customers: int
    messages: int
    rows: int
    load_s: float
    first_s: float
    daily_s: float
    next_day_s: float
    sample: int
    loop_sample_s: float
    flagged_risky: float
    flagged_healthy: float
    by_kind: dict[str, str]
    crossed: int
    peak_rss_mb: float
    rfm_old_s: float = 0.0
    rfm_s: float = 0.0
    rfm_same: bool = False

    @property
    def loop_s(self) -> float:
        return self.loop_sample_s / self.sample * self.customers


async def load(backend: str, url: str, kinds: list[str], rate: float) -> tuple[int, int, float]:
    """Generate and load every customer's year, a slice at a time (bounded memory); (messages, rows, seconds)."""
    messages = rows = 0
    start = time.perf_counter()
    pg = await asyncpg.connect(url.replace("+asyncpg", "")) if backend == "postgresql" else None
    try:
        for lo in range(0, len(kinds), SLICE):
            generated = slice_of(kinds, lo, min(lo + SLICE, len(kinds)), NOW, rate)
            messages += len(generated.tables["messages"])
            if pg is not None:
                async with pg.transaction():
                    rows += await load_postgres(pg, generated)
            else:
                rows += await asyncio.to_thread(load_sqlite, url.split("///", 1)[1], generated)
        if pg is not None:
            await pg.execute(
                "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))"
            )
            await pg.execute("ANALYZE")
    finally:
        if pg is not None:
            await pg.close()
    return messages, rows, time.perf_counter() - start


async def reset(url: str) -> tuple[int, int, float]:
    """--reuse: a database this bench loaded before, with what its runs wrote removed; (messages, 0, 0)."""
    engine = create_db_engine(url)
    try:
        async with engine.begin() as conn:
            for table in ("churn_scores", "service_alerts", "outbox", "rfm_scores"):
                await conn.execute(text(f"DELETE FROM {table}"))
            messages = int(await conn.scalar(text("SELECT count(*) FROM messages")) or 0)
    finally:
        await engine.dispose()
    return messages, 0, 0.0


async def per_customer_loop(sessions: async_sessionmaker[AsyncSession], ids: list[int], policy: ChurnPolicy) -> float:
    """The same queries and model, one customer at a time; in one transaction rolled back at the end, so the
    set-based run that follows starts from the same state (and the loop is spared every commit)."""
    async with sessions() as session:
        transaction = await session.begin()
        start = time.perf_counter()
        for cid in ids:
            one = await repo.customer_chunk(session, cid - 1, 1)
            await score_customers(session, one, {}, NOW, policy)
        elapsed = time.perf_counter() - start
        await transaction.rollback()
    return elapsed


async def previous_rfm(sessions: async_sessionmaker[AsyncSession]) -> None:
    """RFM as it ran before the INSERT ... SELECT: readings and ranks in Python, an executemany insert."""
    async with sessions() as session, session.begin():
        readings = await read_purchases(session, NOW, 365)
        buyers = [r for r in readings if r.recency_days is not None]
        ranks = (
            _Rank([r.recency_days or 0 for r in buyers], higher_is_better=False),
            _Rank([r.frequency for r in buyers], higher_is_better=True),
            _Rank([r.monetary_cents for r in buyers], higher_is_better=True),
        )
        rows = []
        for r in readings:
            rs, fs, ms, tier = score(r, ranks) if r.recency_days is not None else (0, 0, 0, UNSCORED_TIER)
            rows.append(
                {
                    "customer_id": r.customer_id,
                    "recency_days": r.recency_days,
                    "frequency": r.frequency,
                    "monetary_cents": r.monetary_cents,
                    "r_score": rs,
                    "f_score": fs,
                    "m_score": ms,
                    "tier": tier,
                    "computed_at": NOW,
                }
            )
        await session.execute(delete(RfmScore))
        for start in range(0, len(rows), 5000):
            await session.execute(insert(RfmScore), rows[start : start + 5000])
    assert TIERS  # the same eight cells


async def rfm_table(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[object, ...]]:
    cols = (RfmScore.customer_id, RfmScore.recency_days, RfmScore.frequency, RfmScore.monetary_cents)
    more = (RfmScore.r_score, RfmScore.f_score, RfmScore.m_score, RfmScore.tier)
    async with sessions() as session:
        return [tuple(r) for r in await session.execute(select(*cols, *more).order_by(RfmScore.customer_id))]


async def measure_rfm(sessions: async_sessionmaker[AsyncSession]) -> tuple[float, float, bool]:
    """(previous path s, INSERT ... SELECT s, identical tables)."""
    start = time.perf_counter()
    await previous_rfm(sessions)
    old_s = time.perf_counter() - start
    old = await rfm_table(sessions)
    start = time.perf_counter()
    await run_rfm(sessions, NOW)
    new_s = time.perf_counter() - start
    return old_s, new_s, old == await rfm_table(sessions)


async def measure(backend: str, url: str, kinds: list[str], args: argparse.Namespace) -> Row:
    if args.reuse:
        messages, rows, load_s = await reset(url)
    else:
        await asyncio.to_thread(upgrade, url)
        messages, rows, load_s = await load(backend, url, kinds, args.rate)
    engine = create_db_engine(url)
    sessions = make_sessionmaker(engine)
    policy = ChurnPolicy(chunk_size=args.chunk)
    try:
        if backend == "sqlite":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        step = max(1, len(kinds) // args.sample)
        sample = list(range(1, len(kinds) + 1, step))[: args.sample]
        loop_s = await per_customer_loop(sessions, sample, policy)
        start = time.perf_counter()
        first = await run_churn(sessions, NOW, policy)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        await run_churn(sessions, NOW, policy)
        daily_s = time.perf_counter() - start
        async with sessions() as session:
            flagged = {
                cid for (cid,) in (await session.execute(select(ChurnScore.customer_id).where(ChurnScore.at_risk)))
            }
        # A real next day: every window, age and purchase gap moves, so nearly every stored row changes.
        start = time.perf_counter()
        await run_churn(sessions, NOW + timedelta(days=1), policy)
        next_day_s = time.perf_counter() - start
        print(
            f"{backend}: churn first {first_s:.1f} s, daily {daily_s:.1f} s, next day {next_day_s:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}; now RFM",
            flush=True,
        )
        rfm_old_s, rfm_s, rfm_same = await measure_rfm(sessions)
    finally:
        await engine.dispose()
    by_kind = Counter(kinds)
    hit = Counter(kinds[cid - 1] for cid in flagged)
    risky = sum(hit[k] for k in AT_RISK) / max(1, sum(by_kind[k] for k in AT_RISK))
    healthy = sum(hit[k] for k in HEALTHY) / max(1, sum(by_kind[k] for k in HEALTHY))
    shares = {k: f"{hit[k]}/{by_kind[k]}" for k in (*AT_RISK, *HEALTHY)}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Row(
        backend,
        len(kinds),
        messages,
        rows,
        load_s,
        first_s,
        daily_s,
        next_day_s,
        len(sample),
        loop_s,
        risky,
        healthy,
        shares,
        first.crossed,
        rss,
        rfm_old_s,
        rfm_s,
        rfm_same,
    )


def print_table(rows: list[Row]) -> None:
    print()
    head = f"{'backend':<11}{'customers':>10}{'messages':>11}{'load s':>8}{'set 1st s':>10}{'set daily s':>12}"
    head += f"{'+1 day s':>9}"
    head += f"{'cust/s':>9}{'loop n':>8}{'loop s*':>9}{'ratio':>8}{'flag risky':>11}{'flag ok':>9}{'RSS MB':>8}"
    print(head)
    for r in rows:
        print(
            f"{r.backend:<11}{r.customers:>10,}{r.messages:>11,}{r.load_s:>8.1f}{r.first_s:>10.2f}{r.daily_s:>12.2f}"
            f"{r.next_day_s:>9.2f}"
            f"{r.customers / r.first_s:>9,.0f}{r.sample:>8}{r.loop_s:>9.1f}{r.loop_s / r.first_s:>7.1f}x"
            f"{r.flagged_risky:>10.0%}{r.flagged_healthy:>9.1%}{r.peak_rss_mb:>8.0f}"
        )
    print(f"\n{'backend':<11}{'RFM before s':>13}{'RFM now s':>10}{'ratio':>8}  identical rows")
    for r in rows:
        print(f"{r.backend:<11}{r.rfm_old_s:>13.2f}{r.rfm_s:>10.2f}{r.rfm_old_s / r.rfm_s:>7.1f}x  {r.rfm_same}")
    for r in rows:
        print(f"{r.backend} flagged per profile kind: " + ", ".join(f"{k} {v}" for k, v in r.by_kind.items()))
    print(
        "\nset 1st = first run (every crossing alerts its owner rep); set daily = the next run (scores only).\n"
        "+1 day = a run one day later (windows, ages and gaps move: nearly every row changes; few new alerts).\n"
        "loop s* = the per-customer query loop, timed on `loop n` customers spread over the id range and\n"
        "EXTRAPOLATED linearly to all customers (same queries and model, one customer at a time).\n"
        "ratio = loop s* / set 1st. flag risky / flag ok = share of known at-risk / healthy customers flagged.\n"
        "RFM before = readings and ranks in Python with an executemany insert (the previous code path);\n"
        "RFM now = one DELETE and one INSERT ... SELECT with window functions; identical = same rows."
    )


async def run_all(args: argparse.Namespace) -> None:
    kinds = kinds_for(args.customers, seed=11)
    rows: list[Row] = []
    if args.reuse:
        backend = "postgresql" if args.reuse.startswith("postgresql") else "sqlite"
        print(f"{backend}: reusing the data loaded in {args.reuse}", flush=True)
        print_table([await measure(backend, args.reuse, kinds, args)])
        return
    if args.skip_sqlite:
        print("sqlite: SKIPPED (--skip-sqlite)")
    else:
        with tempfile.TemporaryDirectory(prefix="qunke-churn-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/churn.db"
            print(f"sqlite: WAL, synchronous=FULL while scoring, file in {tmp}", flush=True)
            rows.append(await measure("sqlite", url, kinds, args))
    if args.skip_pg:
        print("postgresql: SKIPPED (--skip-pg)")
    else:
        try:
            cluster = await asyncio.to_thread(start_cluster)
        except PostgresUnavailable as exc:
            cluster = None
            print(f"postgresql: SKIPPED ({exc})")
        if cluster is not None:
            try:
                await asyncio.to_thread(cluster.psql, "CREATE DATABASE bench_churn")
                print(f"postgresql: throwaway cluster on port {cluster.port} (fsync off)", flush=True)
                rows.append(await measure("postgresql", cluster.url("bench_churn"), kinds, args))
            finally:
                await asyncio.to_thread(cluster.stop)
    print_table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=3.0, help="a steady customer's messages per 30 days")
    parser.add_argument("--sample", type=int, default=500, help="customers timed in the per-customer loop")
    parser.add_argument("--chunk", type=int, default=2000, help="customers per set-based chunk")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--reuse", default="", help="measure the database URL an earlier run loaded (same --customers)")
    args = parser.parse_args()
    print(
        f"churn bench: {args.customers:,} customers, a year of history (steady customers write {args.rate:g} "
        f"messages per 30 days), chunk {args.chunk}, {2} cores shared",
        flush=True,
    )
    asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
