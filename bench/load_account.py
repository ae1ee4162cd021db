"""Accounting for bench/load_test.py: the whole machine's CPU over the run, what PostgreSQL's backends were doing
(sampled from pg_stat_activity), and where the bots' ingest workers spent their time (qunke_ingest_stage_seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bench.load_report import Sample
from storage.db import create_db_engine

STAGE_LINE = re.compile(r'^qunke_ingest_stage_seconds_(sum|count)\{stage="(\w+)"\} ([0-9.e+-]+)$', re.M)


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat: every tenant of the machine counted."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return total - idle, total


@dataclass
class PgActivity:
    """How often each backend state was seen: 'active: Lock/transactionid', 'idle in transaction', ..."""

    seen: Counter[str] = field(default_factory=Counter)
    samples: int = 0


async def sample_pg_activity(url: str, database: str, activity: PgActivity, done: asyncio.Event) -> None:
    """Every 0.2 s, the state and wait of each client backend of the bots' database (this sampler's own left out)."""
    engine = create_db_engine(url)
    query = text(
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = :db AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    try:
        async with engine.connect() as db:
            while not done.is_set():
                for state, wait_type, wait in (await db.execute(query, {"db": database})).all():
                    label = str(state) + (f": {wait_type}/{wait}" if wait_type and state != "idle" else "")
                    activity.seen[label] += 1
                activity.samples += 1
                await db.rollback()  # a fresh snapshot of pg_stat_activity next time
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.2)
    finally:
        await engine.dispose()


def print_pg_activity(activity: PgActivity) -> None:
    n = max(activity.samples, 1)
    print(f"\nPostgreSQL client backends of the bots' database, mean count per state over {activity.samples} samples:")
    for label, count in activity.seen.most_common(14):
        print(f"  {count / n:>7.2f}  {label}")


def parse_stages(metrics_text: str) -> dict[str, tuple[float, float]]:
    """stage -> (seconds, count) from one /metrics page."""
    found: dict[str, list[float]] = {}
    for kind, stage, value in STAGE_LINE.findall(metrics_text):
        found.setdefault(stage, [0.0, 0.0])[0 if kind == "sum" else 1] += float(value)
    return {stage: (v[0], v[1]) for stage, v in found.items()}


def print_stages(per_bot: list[dict[str, tuple[float, float]]]) -> None:
    if not any(per_bot):
        print("\ningest stages: no qunke_ingest_stage_seconds in /metrics (a tree without the stage timing)")
        return
    print(f"\ningest worker stages (qunke_ingest_stage_seconds), per bot: {'count':>9}{'total s':>10}{'mean ms':>9}")
    for index, stages in enumerate(per_bot, start=1):
        for stage, (seconds, count) in sorted(stages.items()):
            mean = seconds / count * 1e3 if count else 0.0
            print(f"  bot{index} {stage:<47}{count:>9.0f}{seconds:>10.1f}{mean:>9.1f}")


def print_cpu_totals(names: list[str], first: list[float], last: list[float], seconds: float, machine: float) -> None:
    """CPU seconds each process used between two samples, its share of one core and of the whole machine."""
    cores = os.cpu_count() or 1
    print(f"\nCPU over the run ({seconds:.0f} s wall, {cores} cores = {cores * seconds:.0f} core-seconds available):")
    print(f"  {'process':<14}{'CPU s':>9}{'of 1 core':>11}{'of machine':>12}")
    total = 0.0
    for name, before, after in zip(names, first, last, strict=True):
        used = after - before
        total += used
        print(f"  {name:<14}{used:>9.1f}{used / seconds:>11.0%}{used / (cores * seconds):>12.0%}")
    print(f"  {'all of these':<14}{total:>9.1f}{total / seconds:>11.0%}{total / (cores * seconds):>12.0%}")
    print(f"  {'whole machine':<14}{machine * cores * seconds:>9.1f}{'':>11}{machine:>12.0%}  (/proc/stat)")


async def account(
    ports: list[int], samples: list[Sample], jiffies: list[tuple[int, int]], activity: PgActivity
) -> None:
    """Print the accounting of the run: CPU per process and of the machine, PostgreSQL's backends, ingest stages."""
    first, last = samples[0], samples[-1]
    bots = len(ports)
    names = [f"bot{i + 1}" for i in range(bots)] + ["sandbox", "front+bench", "generator", "postgres"]
    busy = jiffies[-1][0] - jiffies[0][0]
    total = jiffies[-1][1] - jiffies[0][1]
    # A process that has exited reads 0 (the generator ends before the drain): its total is its highest reading.
    highest = [max(column) for column in zip(*(s.cpu_s for s in samples), strict=True)]
    print_cpu_totals(names, first.cpu_s, highest, last.at_s - first.at_s, busy / total if total else 0.0)
    print_pg_activity(activity)
    pages = await asyncio.gather(*(_metrics_page(port) for port in ports))
    print_stages([parse_stages(page) for page in pages])


async def _metrics_page(port: int) -> str:
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            return await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return ""
