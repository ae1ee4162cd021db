"""What bench/load_test.py prints: ack latency overall, per kind and per minute, memory per minute, and the
nothing-lost check of every acknowledged callback against the inbox."""

from __future__ import annotations

import argparse
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiohttp
from sqlalchemy import func, select

from bench.load_front import Ack, FrontLog
from bench.load_traffic import KF_SAY, Traffic
from storage.db import create_db_engine
from storage.models.inbox import InboundEvent
from storage.models.messages import Message

if TYPE_CHECKING:
    from bench.load_test import LoadStack


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float
    rss_kib: list[int]  # each bot, then the sandbox
    cpu_s: list[float]  # CPU seconds so far: the same, then this process (the front), the generator, PostgreSQL
    inbox: dict[str, int]  # rows per status
    memory: list[dict[str, float]]  # each bot's memory gauges from its /metrics (MEMORY_GAUGES), {} if unread


# The gauges bot/memory_metrics.py adds to /metrics, with the column each gets in the breakdown table.
MEMORY_GAUGES: Final = {
    "qunke_python_allocated_blocks": "py kblk",
    'qunke_malloc_bytes{state="in_use"}': "heap MiB",
    'qunke_malloc_bytes{state="free"}': "free MiB",
    'qunke_malloc_bytes{state="mmapped"}': "mmap MiB",
    "qunke_asyncio_tasks": "tasks",
    "qunke_callbacks_waiting_peak": "wait peak",
}


async def memory_gauges(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """One bot's memory gauges; {} when it does not answer (stopped, or busy past the timeout)."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as r:
            text = await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith("qunke_asyncio_tasks{"):  # by coroutine: the table shows their sum
            name = "qunke_asyncio_tasks"
            found[name] = found.get(name, 0.0) + float(value)
        elif name in MEMORY_GAUGES:
            found[name] = float(value)
    return found


async def inbox_counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    try:
        async with engine.connect() as db:
            rows = (await db.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status))).all()
    finally:
        await engine.dispose()
    return {str(status): int(n) for status, n in rows}


async def stored(url: str) -> tuple[dict[str, tuple[str, str]], int]:
    """Every inbox row's dedupe key with its status and kind, and the customers' kf messages stored."""
    engine = create_db_engine(url)
    try:
        async with engine.connect() as db:
            rows = (await db.execute(select(InboundEvent.dedupe_key, InboundEvent.status, InboundEvent.kind))).all()
            kf = await db.scalar(
                select(func.count()).where(Message.chat_type == "kf", Message.sender_kind == "customer")
            )
    finally:
        await engine.dispose()
    return {str(key): (str(status), str(kind)) for key, status, kind in rows}, int(kf or 0)


def spread_ms(latencies_s: list[float]) -> str:
    if not latencies_s:
        return f"{'-':>8}{'-':>8}{'-':>8}"
    p99 = statistics.quantiles(latencies_s, n=100, method="inclusive")[98] if len(latencies_s) > 1 else latencies_s[0]
    return f"{statistics.median(latencies_s) * 1e3:>8.1f}{p99 * 1e3:>8.1f}{max(latencies_s) * 1e3:>8.1f}"


def _latency_tables(front: FrontLog, traffic: Traffic) -> None:
    timed = [a for a in front.acks if front.at_s(a) >= 0]
    print(f"\nack latency at the front (ms)      {'n':>7}{'200':>7}{'p50':>8}{'p99':>8}{'max':>8}")
    by_kind: defaultdict[str, list[Ack]] = defaultdict(list)
    for ack in timed:
        by_kind[ack.kind].append(ack)
    for kind, rows in sorted(by_kind.items()):
        ok = [a.latency_s for a in rows if a.status == 200]
        print(f"  {kind[:32]:<32}{len(rows):>7}{len(ok):>7}{spread_ms(ok)}")
    ok_all = [a.latency_s for a in timed if a.status == 200]
    print(f"  {'all callbacks':<32}{len(timed):>7}{len(ok_all):>7}{spread_ms(ok_all)}")
    gen = [s.latency_s for s in traffic.sent if s.kind != KF_SAY and s.status == 200]
    sent = [s for s in traffic.sent if s.kind != KF_SAY]
    print(f"  {'generator end to end':<32}{len(sent):>7}{len(gen):>7}{spread_ms(gen)}")
    statuses = Counter((s.kind, s.status) for s in traffic.sent)
    print(f"  generator: {dict(sorted(statuses.items()))}; started late (>100 ms): {traffic.late_starts}")


def _minute_table(front: FrontLog, samples: list[Sample], bots: int) -> None:
    per_minute: defaultdict[int, list[Ack]] = defaultdict(list)
    for ack in front.acks:
        if front.at_s(ack) >= 0:
            per_minute[int(front.at_s(ack) // 60)].append(ack)
    names = [f"bot{i + 1} MiB" for i in range(bots)] + ["sandbox MiB"]
    cpus = [f"bot{i + 1} CPU" for i in range(bots)] + ["sandbox", "front", "traffic", "postgres"]
    head = f"\n{'minute':>7}{'acks':>7}{'p50':>8}{'p99':>8}{'max':>8}{'inbox new':>10}"
    print(head + "".join(f"{n:>12}" for n in names) + "".join(f"{n:>10}" for n in cpus))
    previous = samples[0]
    for sample in samples:
        minute = round(sample.at_s / 60)
        rows = [a.latency_s for a in per_minute.get(minute - 1, []) if a.status == 200] if minute else []
        rss = "".join(f"{kib / 1024:>12.1f}" for kib in sample.rss_kib)
        label = f"{sample.at_s / 60:>6.1f}'"
        span = sample.at_s - previous.at_s
        cpu = "".join(
            f"{(now - before) / span:>10.0%}" if span > 0 else f"{'-':>10}"
            for now, before in zip(sample.cpu_s, previous.cpu_s, strict=True)
        )
        previous = sample
        print(f"{label:>7}{len(rows):>7}{spread_ms(rows)}{sample.inbox.get('new', 0):>10}{rss}{cpu}")
    print("  each row: memory and inbox backlog at that moment; acks, latency, CPU (of one core) since the row before")
    _memory_table(samples, bots)


def _memory_table(samples: list[Sample], bots: int) -> None:
    """Each bot's memory split: Python objects (allocated blocks), glibc heap in use, freed but held, mmapped."""
    print(f"\n{'minute':>7}" + "".join(f"{f'bot{b + 1} {c}':>15}" for b in range(bots) for c in MEMORY_GAUGES.values()))
    for sample in samples:
        cells = []
        for b in range(bots):
            gauges = sample.memory[b] if b < len(sample.memory) else {}
            for name in MEMORY_GAUGES:
                value = gauges.get(name)
                scale = 1000 if name.startswith("qunke_python") else 2**20 if name.startswith("qunke_malloc") else 1
                cells.append(f"{value / scale:>15.1f}" if value is not None else f"{'-':>15}")
        print(f"{sample.at_s / 60:>6.1f}'" + "".join(cells))
    print(
        "  py kblk: thousands of Python allocator blocks (live objects); heap/free/mmap: glibc's mallinfo2; tasks: "
        "live asyncio tasks; wait peak: the most callbacks awaiting their commit at once so far"
    )


async def print_report(
    args: argparse.Namespace, url: str, traffic: Traffic, front: FrontLog, samples: list[Sample], load: LoadStack
) -> None:
    _latency_tables(front, traffic)
    _minute_table(front, samples, len(load.bots))
    print(f"  served per backend port: {front.served}")
    rows, kf_stored = await stored(url)
    acked = {a.dedupe_key for a in front.acks if a.status == 200 and a.dedupe_key}
    missing = acked - rows.keys()
    unacked = rows.keys() - acked
    statuses = Counter(rows[key][0] for key in acked & rows.keys())
    unacked_kinds = Counter(rows[key][1] for key in unacked)
    kf_said = sum(1 for s in traffic.sent if s.kind == KF_SAY and s.status == 200)
    print(
        f"\nnothing lost: {len(acked)} distinct callbacks acked (of {len(front.acks)} deliveries incl. redeliveries), "
        f"{len(acked) - len(missing)} of them in the inbox, {len(missing)} missing; inbox rows {len(rows)} "
        f"(UNIQUE dedupe_key: each at most once), {len(unacked)} stored but never acked"
    )
    print(
        f"  stored but never acked, by kind (sent before the clock started, or 502 while a bot was starting): "
        f"{dict(unacked_kinds)}"
    )
    print(f"  acked rows by status at the end: {dict(statuses)} (done = processed by an ingest worker)")
    print(f"  kf: {kf_said} customer messages said in the sandbox, {kf_stored} stored by the bots' pulls")
    last = samples[-1]
    done_rate = last.inbox.get("done", 0) / last.at_s if last.at_s > 0 else 0.0
    print(f"  stored: every acked callback in the inbox exactly once: {'YES' if not missing else 'NO'}")
    print(
        f"  processed: {statuses.get('done', 0)} of {len(acked)} acked callbacks done, {statuses.get('new', 0)} still "
        f"waiting, {statuses.get('failed', 0)} failed, {last.at_s:.0f} s after the start; all inbox rows (with the "
        f"bots' own follow-up jobs): {last.inbox}, {done_rate:.1f} done/s on average"
    )
