"""Archive puller, pipelined or not, in alternating rounds in one process: reading page N+1 ahead (fetch + RSA
unwraps) while page N is stored, with the unwraps in a worker process or on threads, against reading each page when
asked. Each round stores the same archive into a fresh copy of one prepared SQLite database (every feature on, as in
bench/archive.py); the median of the rounds is the figure, because the machine is shared."""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.support` live beside the installed packages

import aiohttp  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from bench.archive import MemorySource, NoDirectory, every_feature, make_items, rsa_only, stored  # noqa: E402
from bot.app import build_dispatcher  # noqa: E402
from bot.channel_ports import ChannelPage, PageSource  # noqa: E402
from bot.channels.wecom.archive import ArchiveItem, ArchiveKeys  # noqa: E402
from bot.channels.wecom.archive_puller import ArchivePuller  # noqa: E402
from bot.dispatch import Features  # noqa: E402
from bot.ingest.pulls import PageLoop  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from storage.db import create_db_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

# name → (read ahead, unwrap processes: 0 = threads only, None = the default pool)
MODES: Final[dict[str, tuple[bool, int | None]]] = {
    "sequential": (False, 0),
    "ahead, threads": (True, 0),
    "ahead, process": (True, None),
}


class TimedPages:
    """The page loop, timing how long it waits for each page (fetch and decrypt not yet done when it asks)."""

    def __init__(self, loop: PageLoop) -> None:
        self._loop, self.waited = loop, 0.0

    async def run(self, source: PageSource) -> int:
        return await self._loop.run(TimedSource(source, self))


class TimedSource:
    def __init__(self, source: PageSource, timer: TimedPages) -> None:
        self._source, self._timer = source, timer
        self.channel, self.cursor_name, self.failpoint = source.channel, source.cursor_name, source.failpoint
        self.max_pages, self.commits_empty_pages = source.max_pages, source.commits_empty_pages

    async def read_page(self, session: AsyncSession, cursor: str, now: datetime) -> ChannelPage:
        started = time.perf_counter()
        try:
            return await self._source.read_page(session, cursor, now)
        finally:
            self._timer.waited += time.perf_counter() - started


def cpu_seconds() -> float:
    """This process's CPU time and that of its ended children (the unwrap processes, once closed)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def one_round(
    url: str, items: list[ArchiveItem], keys: ArchiveKeys, mode: str, features: Features
) -> tuple[float, float, float]:
    """(messages per second, cores busy on average (CPU seconds ÷ wall seconds), share of the pull spent waiting
    for pages)."""
    ahead, processes = MODES[mode]
    engine = create_db_engine(url)
    metrics = Metrics()
    loop = PageLoop(make_sessionmaker(engine), build_dispatcher(), NoDirectory(), SystemClock(), metrics, features)  # type: ignore[arg-type]
    pages = TimedPages(loop)
    puller = ArchivePuller(
        MemorySource(items), keys, metrics, pages, limit=1000, unwrap_processes=processes, read_ahead=ahead
    )
    try:
        puller.start_unwrap_processes()  # once per bot process in production: not part of the rate
        started, cpu = time.perf_counter(), cpu_seconds()
        assert await puller.pull() == len(items)
        wall = time.perf_counter() - started
    finally:
        puller.close()  # waits for the unwrap processes, so their CPU time is counted
        await engine.dispose()
    return len(items) / wall, (cpu_seconds() - cpu) / wall, pages.waited / wall


async def main_async(args: argparse.Namespace) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys, items = ArchiveKeys({1: key}), make_items(key, args.n)
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    cores: dict[str, list[float]] = {mode: [] for mode in MODES}
    waits: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="qunke-bench-overlap-") as tmp:
        template = f"{tmp}/template.db"
        await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{template}")
        async with aiohttp.ClientSession() as http:
            features = await every_feature(f"sqlite+aiosqlite:///{template}", http)
            rsa_rate = (await rsa_only(500))[0]
            for n in range(args.rounds):
                order = list(MODES)[n % len(MODES) :] + list(MODES)[: n % len(MODES)]  # each mode leads in turn
                for mode in order:
                    path = f"{tmp}/r{n}-{len(rates[mode])}-{mode[:3]}.db"
                    shutil.copy(template, path)
                    url = f"sqlite+aiosqlite:///{path}"
                    rate, busy, wait = await one_round(url, items, keys, mode, features)
                    rates[mode].append(rate)
                    cores[mode].append(busy)
                    waits[mode].append(wait)
                    assert await stored(url) == len(items), "every archived message is stored exactly once"
                    print(
                        f"round {n + 1} {mode:<16} {rate:>6.0f}/s  {busy:.2f} cores busy, {wait:.0%} waiting",
                        flush=True,
                    )
    base = statistics.median(rates["sequential"])
    print(f"{args.n} messages per round, {args.rounds} rounds; one core unwraps {rsa_rate:.0f} RSA keys/s")
    for mode, got in rates.items():
        med, busy, wait = statistics.median(got), statistics.median(cores[mode]), statistics.median(waits[mode])
        print(
            f"{mode:<16} median {med:>6.0f}/s ({med / base:.2f}x sequential), {busy:.2f} cores busy, "
            f"{wait:.0%} of the pull waiting for pages; rounds: {[round(r) for r in got]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
