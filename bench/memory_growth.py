"""Memory growth under the load test's mix: Python-traced bytes, gc objects and RSS per 1,000 events processed.

A real `qunke sandbox serve` holds the corp; the bot runs in this process as `qunke serve` builds it (`create_app`
from config.yaml as shipped, its HTTP site on a free port so the sandbox's kf callbacks reach it). Each round stores
the load test's mix in the inbox (members' app messages, contact edits, group updates, the bot's own group re-reads)
and has kf customers speak in the sandbox (each a real kf_msg_or_event callback and pull, a FAQ question), waits
until the inbox is drained, then takes a `tracemalloc` snapshot and gc counts. The first round is warm-up; every
later figure is against the snapshot taken after it.

    nice -n 10 .venv/bin/python bench/memory_growth.py --rounds 2000 5000 5000 10000 --backend sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import linecache
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, deque
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.*` live beside the installed packages

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.ingest_worker import Corp, counts, inbox_rows, seed_corp, store  # noqa: E402
from bench.load_test import QUESTIONS, rss_kib  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from storage.db import create_db_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.inbox import InboxStatus  # noqa: E402
from storage.repos.inbound import NewInbound  # noqa: E402
from tests.e2e.harness import REPO, Stack, make_archive_keys  # noqa: E402
from tests.support.postgres import Cluster, start_cluster  # noqa: E402

KF_SHARE: Final = 0.2  # bench/load_traffic.py: one callback in five is a kf customer speaking
FRAMES: Final = 12  # frames kept per allocation (--frames); the tracebacks printed show at most this many


async def kf_says(sandbox_url: str, customers: list[str], n: int, rng: random.Random) -> None:
    """n kf messages said in the sandbox, 8 at a time (each makes the sandbox send a kf callback to the bot)."""
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with gate:
                body = {"customer": rng.choice(customers), "text": rng.choice(QUESTIONS)}
                async with http.post(f"{sandbox_url}/sandbox/act/kf-say", json=body) as resp:
                    await resp.read()

        await asyncio.gather(*(one() for _ in range(n)))


def mix_rows(n: int, corp: Corp, seed: int) -> list[NewInbound]:
    """bench/ingest_worker.py's rows, the members' texts being the load test's questions (not a text per event)."""
    rng = random.Random(seed)
    rows = inbox_rows(n, corp, seed, ["text", "contact", "chat", "resync"])
    asked = re.compile(r"请问发货了吗 \d+")
    return [replace(r, payload=asked.sub(lambda _: rng.choice(QUESTIONS), r.payload)) for r in rows]


async def settled(url: str, within_s: float) -> Counter[str]:
    """Poll until nothing is new or in progress in the inbox three polls running (kf callbacks arrive late)."""
    engine = create_db_engine(url)
    deadline, quiet = time.monotonic() + within_s, 0
    try:
        while time.monotonic() < deadline:
            seen = await counts(engine)
            busy = sum(v for k, v in seen.items() if k not in (InboxStatus.DONE, InboxStatus.FAILED))
            quiet = quiet + 1 if busy == 0 else 0
            if quiet >= 3:
                return seen
            await asyncio.sleep(0.5)
        return await counts(engine)
    finally:
        await engine.dispose()


OURS: Final = ("bot.", "services.", "handlers.", "storage.", "campaigns.", "console.")


def container_sizes() -> Counter[str]:
    """len() of every dict, set, list or deque held in an attribute of one of our objects (and SQLAlchemy's LRU
    caches): a cache or registry that is never pruned shows here as a size that follows the events processed."""
    sizes: Counter[str] = Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        module = kind.__dict__.get("__module__")
        if not isinstance(module, str):
            continue
        if kind.__name__ == "LRUCache" and module.startswith("sqlalchemy"):
            sizes[f"sqlalchemy LRUCache@{id(obj):x}"] = len(obj)
            continue
        if not module.startswith(OURS):
            continue
        attrs = getattr(obj, "__dict__", None) or {s: getattr(obj, s, None) for s in getattr(kind, "__slots__", ())}
        for name, value in attrs.items():
            if isinstance(value, dict | set | list | deque):
                sizes[f"{module}.{kind.__qualname__}.{name}"] += len(value)
    return sizes


def by_package(snap: tracemalloc.Snapshot, base: tracemalloc.Snapshot) -> Counter[str]:
    """Traced growth summed by the package of the allocating line (site-packages/<name>, the stdlib, or ours)."""
    out: Counter[str] = Counter()
    for stat in snap.compare_to(base, "filename"):
        path = stat.traceback[0].filename
        if "site-packages/" in path:
            package = path.split("site-packages/", 1)[1].split("/", 1)[0]
        elif path.startswith(str(ROOT)):
            package = Path(path).relative_to(ROOT).parts[0]
        else:
            package = "stdlib/other"
        out[package] += stat.size_diff
    return out


def gc_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class Meter:
    """Snapshots after warm-up and after each round; prints what grew, by traceback and by type."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.base: tracemalloc.Snapshot | None = None
        self.base_types: Counter[str] = Counter()
        self.base_sizes: Counter[str] = Counter()
        self.base_done = 0
        self.rows: list[tuple[int, int, int, int]] = []

    def take(self, done: int) -> None:
        gc.collect()
        tracing = tracemalloc.is_tracing()
        snap = tracemalloc.take_snapshot() if tracing else tracemalloc.Snapshot([], FRAMES)
        # The harness's own growth, not the bot's: the snapshot it keeps, and the source lines printing tracebacks
        # reads into linecache. "traced" is what is left.
        snap = snap.filter_traces([tracemalloc.Filter(False, f) for f in (linecache.__file__, tracemalloc.__file__)])
        traced = sum(stat.size for stat in snap.statistics("filename"))
        rss, types, sizes = rss_kib_self(), gc_counts(), container_sizes()
        if self.base is None:
            self.base, self.base_types, self.base_done, self.base_sizes = snap, types, done, sizes
            print(f"baseline after {done} events: traced {traced / 2**20:.1f} MiB, RSS {rss / 1024:.1f} MiB")
            self.rows.append((done, traced, rss, len(gc.get_objects())))
            return
        self.rows.append((done, traced, rss, len(gc.get_objects())))
        per_k = max(done - self.base_done, 1) / 1000
        print(f"\n=== after {done} events ({done - self.base_done} since baseline) ===")
        print(f"traced {traced / 2**20:.1f} MiB, RSS {rss / 1024:.1f} MiB, gc objects {len(gc.get_objects())}")
        self.print_traced(snap, self.base, per_k)
        self.print_grown(sizes, types, per_k)
        sys.stdout.flush()

    def print_traced(self, snap: tracemalloc.Snapshot, base: tracemalloc.Snapshot, per_k: float) -> None:
        print(f"-- top {self.top} tracebacks by growth (bytes per 1,000 events, count delta):")
        grouping = "traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno"
        for stat in snap.compare_to(base, grouping)[: self.top]:
            if stat.size_diff <= 0:
                continue
            total = f"total {stat.size / 1024:.0f} KiB"
            print(f"{stat.size_diff / per_k:+10.0f} B/k  {stat.count_diff:+7d} blocks  {total}")
            for line in stat.traceback.format(limit=FRAMES, most_recent_first=True):
                if line.lstrip().startswith("File"):
                    print(f"      {line.strip()}")
        print("-- traced growth by package of the allocating line (KiB):")
        for package, size in by_package(snap, base).most_common(8):
            print(f"  {size / 1024:+9.0f} {package}")

    def print_grown(self, sizes: Counter[str], types: Counter[str], per_k: float) -> None:
        print("-- containers held by our objects (and SQLAlchemy LRU caches) that grew: entries now (delta)")
        for name, size in sorted(sizes.items(), key=lambda kv: kv[1] - self.base_sizes.get(kv[0], 0), reverse=True):
            if size - self.base_sizes.get(name, 0) > 0:
                print(f"  {size:7d} ({size - self.base_sizes.get(name, 0):+d}) {name}")
        print("-- gc object types by growth:")
        grown = Counter({k: v - self.base_types.get(k, 0) for k, v in types.items()})
        for name, delta in grown.most_common(15):
            if delta > 0:
                print(f"  {delta:+8d} {name}  ({delta / per_k:.1f} per 1,000 events)")

    def summary(self) -> None:
        print("\n| events processed | traced MiB | RSS MiB | gc objects | traced KiB per 1k since baseline |")
        print("|---|---|---|---|---|")
        done0, traced0, _, _ = self.rows[0]
        for done, traced, rss, objs in self.rows:
            per = (traced - traced0) / 1024 / max((done - done0) / 1000, 1e-9) if done > done0 else 0.0
            print(f"| {done} | {traced / 2**20:.2f} | {rss / 1024:.1f} | {objs} | {per:.1f} |")


def rss_kib_self() -> int:
    return rss_kib(os.getpid())


def settings_for(stack: Stack, url: str, concurrency: int) -> Any:
    config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["server"]["port"] = stack.bot_port
    config["faq"]["example_kb"] = str(REPO / "kb" / "example.yaml")
    config["ingest"]["concurrency"] = concurrency
    stack.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_settings(stack.config_path, {**stack.env, "QUNKE_DATABASE_URL": url})


async def run_rounds(args: argparse.Namespace, stack: Stack, corp: Corp, url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    runner = web.AppRunner(create_app(settings_for(stack, url, args.ingest_concurrency)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", stack.bot_port)
    await site.start()
    meter, rng, total = Meter(args.top), random.Random(7), 0
    customers = [c["external_userid"] for c in stack.state()["customers"]]
    try:
        await settled(url, 600)  # the start-up import
        for index, n in enumerate(args.rounds, start=1):
            kf = int(n * KF_SHARE)
            started = time.monotonic()
            await store(url, mix_rows(n - kf, corp, index))
            await kf_says(stack.sandbox_url, customers, kf, rng)
            seen = await settled(url, 3600)
            total += n
            print(
                f"round {index}: {n} events ({kf} kf) in {time.monotonic() - started:.0f} s; inbox {dict(seen)}",
                flush=True,
            )
            meter.take(total)
    finally:
        await runner.cleanup()
    meter.summary()


async def main_async(args: argparse.Namespace, tmp: Path) -> None:
    cluster: Cluster | None = None
    if args.backend == "postgresql":
        cluster = await asyncio.to_thread(start_cluster)
        cluster.psql("CREATE DATABASE qunke_mem")
        url = cluster.url("qunke_mem")
    else:
        url = f"sqlite+aiosqlite:///{tmp}/qunke.db"
    stack = Stack(tmp / "stack", make_archive_keys(tmp / "keys"), database_url=url)
    stack.start_sandbox()
    try:
        corp = await asyncio.to_thread(seed_corp, stack, args.customers, args.groups)
        print(f"{args.backend}: {len(corp.follows)} follows, {len(corp.chat_ids)} groups; rounds {args.rounds}")
        await run_rounds(args, stack, corp, url)
    finally:
        stack.stop()
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, nargs="+", default=[2000, 5000, 5000, 10000], help="events per round")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--customers", type=int, default=500, help="customers seeded in the sandbox")
    parser.add_argument("--groups", type=int, default=100, help="customer groups of ten seeded in the sandbox")
    parser.add_argument("--top", type=int, default=15, help="tracebacks printed per round")
    parser.add_argument("--ingest-concurrency", type=int, default=1, help="claim loops on PostgreSQL (load test: 8)")
    parser.add_argument("--frames", type=int, default=FRAMES, help="tracemalloc frames (1 is cheapest)")
    parser.add_argument("--no-trace", action="store_true", help="RSS and gc counts only (tracemalloc off)")
    args = parser.parse_args()
    if not args.no_trace:
        tracemalloc.start(args.frames)
    with tempfile.TemporaryDirectory(prefix="qunke-mem-") as tmp:
        asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    main()
