"""Campaign benchmark on SQLite and PostgreSQL: a segment preview over 1,000,000 customers and a 100,000-recipient
broadcast enqueued as mass tasks, each beside a naive per-customer baseline measured in the same run.

The preview evaluates a typical filter (a tag, silent for 30 days, not opted out) as one SQL statement; the baseline
asks the same three questions one customer at a time. The broadcast runs a real campaign run (keyset batches,
guards, one task per owner rep); the baseline records each customer with its own guard queries and commit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` lives beside the installed packages

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bench.campaigns_load import load  # noqa: E402
from campaigns import manage, runs, segments  # noqa: E402
from campaigns.policy import CampaignPolicy  # noqa: E402
from campaigns.segment_sql import Moment  # noqa: E402
from services.service.calendar import BusinessCalendar, WorkingHours  # noqa: E402
from storage.db import create_db_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.campaigns import ContactPref  # noqa: E402
from storage.models.customers import Customer, CustomerTag  # noqa: E402
from storage.models.masstasks import MassTarget  # noqa: E402
from storage.models.messages import Message, SenderKind  # noqa: E402
from storage.planner import prefer_index_walks  # noqa: E402
from tests.support.postgres import PostgresUnavailable, start_cluster  # noqa: E402

NOW: Final = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai: outside quiet hours
FILTER: Final = {
    "all": [{"tags": {"any": ["VIP"]}}, {"last_message": {"older_than_days": 30}}, {"not": {"opted_out": True}}]
}
EXPLAIN_DIR: Final = ROOT / "bench" / "results"


@dataclass
class Figures:
    backend: str
    customers: int
    load_s: float
    preview_s: float
    preview_count: int
    naive_preview_s: float
    broadcast_n: int
    broadcast_s: float
    broadcast_peak_mb: float
    tasks: int
    naive_broadcast_s: float


async def preview_seconds(sessions: async_sessionmaker[AsyncSession], repeat: int) -> tuple[float, int]:
    node = segments.filter_of({"filter": FILTER})
    timings, count = [], 0
    for _ in range(repeat):
        async with sessions() as session:
            start = time.perf_counter()
            shown = await segments.preview(session, node, Moment(NOW, "Asia/Shanghai"))
            timings.append(time.perf_counter() - start)
            count = shown.count
    return statistics.median(timings), count


async def naive_preview_seconds(sessions: async_sessionmaker[AsyncSession], n: int, sample: int) -> float:
    """The same three questions per customer, one query each, on `sample` customers; extrapolated to all."""
    step = max(1, n // sample)
    since = NOW - timedelta(days=30)
    async with sessions() as session:
        start = time.perf_counter()
        for cid in range(1, n + 1, step)[:sample]:
            vip = await session.scalar(
                select(func.count()).where(CustomerTag.customer_id == cid, CustomerTag.tag_name == "VIP")
            )
            recent = await session.scalar(
                select(func.count()).where(
                    Message.customer_id == cid, Message.sender_kind == SenderKind.CUSTOMER, Message.sent_at >= since
                )
            )
            out = await session.scalar(
                select(func.count()).where(ContactPref.customer_id == cid, ContactPref.opted_out_at.is_not(None))
            )
            _ = bool(vip) and not recent and not out
        elapsed = time.perf_counter() - start
    return elapsed / sample * n


async def explain(backend: str, sessions: async_sessionmaker[AsyncSession]) -> Path:
    """EXPLAIN (ANALYZE on PostgreSQL) of the preview's two statements, exactly as `segments.preview` runs them."""
    node = segments.filter_of({"filter": FILTER})
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
    parts: list[str] = []
    async with sessions() as session:
        bind = session.get_bind()
        await prefer_index_walks(session)  # as segments.preview plans them
        for query in segments.preview_queries(node, Moment(NOW, "Asia/Shanghai")):
            compiled = str(query.compile(bind, compile_kwargs={"literal_binds": True}))
            plan = [" | ".join(str(c) for c in row) for row in await session.execute(text(prefix + compiled))]
            parts.append(f"-- {compiled}\n\n" + "\n".join(plan) + "\n")
    EXPLAIN_DIR.mkdir(parents=True, exist_ok=True)
    path = EXPLAIN_DIR / f"segment_preview_{backend}.txt"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


async def broadcast(
    sessions: async_sessionmaker[AsyncSession], policy: CampaignPolicy
) -> tuple[int, float, float, int]:
    document = {
        "name": "双十二预热",
        "kind": "broadcast",
        "filter": {"tags": {"any": ["双十二"]}},
        "path": "mass_single",
        "message": "双十二会员专享价已开启，回复「退订」不再接收。",
        "at": "now",
    }
    async with sessions() as session, session.begin():
        await manage.create_campaign(session, document, NOW, policy)
    tracemalloc.start()
    start = time.perf_counter()
    await runs.tick(sessions, NOW, policy)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    async with sessions() as session:
        targets = int(await session.scalar(select(func.count()).select_from(MassTarget)) or 0)
        tasks = int(await session.scalar(text("SELECT count(*) FROM mass_tasks")) or 0)
    return targets, elapsed, peak / 2**20, tasks


async def naive_broadcast_seconds(sessions: async_sessionmaker[AsyncSession], n: int, sample: int) -> float:
    """Per customer: read them, check opt-out and the week's count, insert their send, commit; extrapolated."""
    ids = list(range(10, n + 1, 10))
    step = max(1, len(ids) // sample)
    chosen = ids[::step][:sample]
    async with sessions() as session:
        start = time.perf_counter()
        for cid in chosen:
            customer = await session.get(Customer, cid)
            assert customer is not None
            await session.scalar(select(func.count()).where(ContactPref.customer_id == cid))
            await session.scalar(text("SELECT count(*) FROM campaign_sends WHERE customer_id = :c"), {"c": cid})
            await session.execute(
                text(
                    "INSERT INTO campaign_sends (run_id, campaign_id, customer_id, owner_userid, outcome, reason, text,"
                    " created_at) VALUES (1, 1, :c, :o, 'selected', '', 'x', :t)"
                ),
                {"c": cid, "o": customer.owner_userid, "t": NOW},
            )
            await session.commit()
        elapsed = time.perf_counter() - start
        await session.execute(text("DELETE FROM campaign_sends"))
        await session.execute(text("DELETE FROM campaign_runs"))
        await session.commit()
    return elapsed / len(chosen) * (n // 10)


async def measure(backend: str, url: str, args: argparse.Namespace) -> Figures:
    await asyncio.to_thread(upgrade, url)
    load_s = await load(backend, url, args.customers)
    engine = create_db_engine(url)
    sessions = make_sessionmaker(engine)
    policy = CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()))
    try:
        preview_s, count = await preview_seconds(sessions, args.repeat)
        naive_s = await naive_preview_seconds(sessions, args.customers, args.sample)
        plan = await explain(backend, sessions)
        print(f"{backend}: EXPLAIN of the preview's statements saved to {plan.relative_to(ROOT)}", flush=True)
        async with sessions() as session, session.begin():  # the baseline needs a run and a campaign row to refer to
            await session.execute(
                text(
                    "INSERT INTO campaigns (id, name, kind, path, status, definition, created_by, created_at,"
                    " updated_at) VALUES (1, 'baseline', 'broadcast', 'mass_single', 'cancelled', '{}', '', :t, :t)"
                ),
                {"t": NOW},
            )
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (id, campaign_id, scheduled_for, status, cursor, dispatch_after,"
                    " started_at, error) VALUES (1, 1, :t, 'done', 0, :t, :t, '')"
                ),
                {"t": NOW},
            )
        naive_b = await naive_broadcast_seconds(sessions, args.customers, args.sample)
        async with sessions() as session, session.begin():
            await session.execute(text("DELETE FROM campaigns"))
        targets, broadcast_s, peak_mb, tasks = await broadcast(sessions, policy)
    finally:
        await engine.dispose()
    return Figures(
        backend, args.customers, load_s, preview_s, count, naive_s, targets, broadcast_s, peak_mb, tasks, naive_b
    )


def print_table(rows: list[Figures]) -> None:
    print()
    print(
        f"{'backend':<11}{'customers':>10}{'load s':>8}{'preview s':>10}{'count':>9}{'naive s*':>10}{'ratio':>8}"
        f"{'sent':>8}{'enqueue s':>10}{'peak MB':>8}{'tasks':>6}{'naive s*':>10}{'ratio':>8}"
    )
    for r in rows:
        print(
            f"{r.backend:<11}{r.customers:>10,}{r.load_s:>8.1f}{r.preview_s:>10.3f}{r.preview_count:>9,}"
            f"{r.naive_preview_s:>10.1f}{r.naive_preview_s / r.preview_s:>7.0f}x{r.broadcast_n:>8,}"
            f"{r.broadcast_s:>10.2f}{r.broadcast_peak_mb:>8.1f}{r.tasks:>6}{r.naive_broadcast_s:>10.1f}"
            f"{r.naive_broadcast_s / r.broadcast_s:>7.1f}x"
        )
    print(
        "\npreview s = median of the segment preview (count, per owner, sample) over every customer; target: < 1 s\n"
        "on PostgreSQL at 1,000,000 customers. enqueue s = one campaign run from firing to one mass task per owner\n"
        "rep (target < 10 s for 100,000 recipients); peak MB = peak Python allocation during the run (tracemalloc).\n"
        "naive s* = the per-customer baseline timed on a sample and EXTRAPOLATED linearly to every customer."
    )


async def run_all(args: argparse.Namespace) -> None:
    rows: list[Figures] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="qunke-campaign-bench-") as tmp:
            print(f"sqlite: WAL, file in {tmp}", flush=True)
            rows.append(await measure("sqlite", f"sqlite+aiosqlite:///{tmp}/campaigns.db", args))
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
                await asyncio.to_thread(cluster.psql, "CREATE DATABASE bench_campaigns")
                print(f"postgresql: throwaway cluster on port {cluster.port} (fsync off)", flush=True)
                rows.append(await measure("postgresql", cluster.url("bench_campaigns"), args))
            finally:
                await asyncio.to_thread(cluster.stop)
    print_table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="preview runs (the median is shown)")
    parser.add_argument("--sample", type=int, default=2000, help="customers timed in the naive baselines")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    asyncio.run(run_all(parser.parse_args()))


if __name__ == "__main__":
    main()
