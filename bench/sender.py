"""Sender benchmark: kf sends/s through the outbox beside plain client loops in the same run, then real limits.

Part 1 raises the sandbox's limits and Qunke's ceilings and measures N kf/send_msg calls three ways against the same
sandbox: Qunke's sender (claim, quota checks, send, record, all in the database), a plain loop of awaited client
calls, and the same calls gathered 16 at a time (the sender's default concurrency). It also runs the sender under a
global ceiling and reports how close the busiest second came to it. Part 2 (bench/sender_limits.py) runs the real
per-member and kf limits on a fast-forwarded clock shared by the bot and the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.support` live beside the installed packages

import aiohttp  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.sender_limits import run_limits  # noqa: E402
from bench.sender_setup import (  # noqa: E402
    QUIET,
    KfPair,
    bench_db,
    kf_customers,
    open_windows,
    run_sender_until_drained,
    sandbox_json,
    sandbox_running,
)
from bot.channels.wecom.client import WeComClient  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from services.outbox.messages import Text  # noqa: E402
from services.outbox.queue import queue_kf_reply  # noqa: E402
from storage.models.outbox import RateCounter  # noqa: E402
from tests.support.postgres import PostgresUnavailable, start_cluster  # noqa: E402
from tests.support.stack import DEMO  # noqa: E402

RAISED: Final = {"api_limit_per_min": 100_000_000, "api_limit_per_hour": 1_000_000_000, "read_concurrency": 1000}
UNLIMITED: Final = {"global_per_second": 1_000_000, "api_per_minute": 100_000_000, "api_per_hour": 1_000_000_000}
CLOCK: Final = SystemClock()


def body(pair: KfPair, n: int) -> dict[str, object]:
    return {"touser": pair[1], "open_kfid": pair[0], "msgid": f"loop{n}x{pair[1][-6:]}", "msgtype": "text",
            "text": {"content": f"基准回复 {n}"}}  # fmt: skip


async def plain_loop(client: WeComClient, pairs: list[KfPair]) -> float:
    started = time.perf_counter()
    for n in range(len(pairs) * 5):
        await client.call_once("POST", "/cgi-bin/kf/send_msg", body=body(pairs[n // 5], n))
    return time.perf_counter() - started


async def gathered(client: WeComClient, pairs: list[KfPair], width: int = 16) -> float:
    slots = asyncio.Semaphore(width)

    async def one(n: int) -> None:
        async with slots:
            await client.call_once("POST", "/cgi-bin/kf/send_msg", body=body(pairs[n // 5], n + 10**6))

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(len(pairs) * 5)))
    return time.perf_counter() - started


async def through_sender(
    database_url: str, sandbox_url: str, pairs: list[KfPair], **sender: object
) -> tuple[float, int]:
    """Seconds to drain 5 replies per customer through the sender, and the most calls claimed in any second."""
    async with bench_db(database_url, sandbox_url, poll_interval_s=0.01, **sender) as bench:
        await open_windows(bench.sessions, pairs, CLOCK)
        async with bench.sessions() as session, session.begin():
            for n, (kfid, user) in enumerate(pairs):
                for k in range(5):
                    await queue_kf_reply(session, CLOCK.now(), kfid, user, Text(f"发送器回复 {n}-{k}"))
        seconds = await run_sender_until_drained(bench, CLOCK)
        async with bench.sessions() as session:
            query = select(RateCounter.bucket, RateCounter.count).where(RateCounter.scope == "g")
            tenths = {int(b): int(c) for b, c in (await session.execute(query)).all()}
    busiest = max((sum(tenths.get(b + k, 0) for k in range(10)) for b in tenths), default=0)
    return seconds, busiest


async def compare(url_for: Callable[[str], str], label: str, customers: int, latency_ms: int) -> None:
    """The sender beside a plain loop and a gather(16) of the same calls, on one sandbox, in this run."""
    config = SandboxConfig(**{**QUIET, **RAISED})
    async with sandbox_running(config) as url, aiohttp.ClientSession() as http:
        ours, loop_pairs, gather_pairs = [await kf_customers(http, url, customers) for _ in range(3)]
        client = WeComClient(http, url, DEMO.corp_id, DEMO.secret, 5.0, 1000)
        await client.call_once("GET", "/cgi-bin/kf/servicer/list", params={"open_kfid": ours[0][0]})  # warm the token
        if latency_ms:
            fault = {"api": "/cgi-bin/kf/send_msg", "latency_ms": latency_ms, "times": 0}
            async with http.post(f"{url}/sandbox/faults", json=fault) as resp:
                assert resp.status == 200, await resp.text()
        loop_s = await plain_loop(client, loop_pairs)
        gather_s = await gathered(client, gather_pairs)
        sender_s, _ = await through_sender(url_for(f"free{latency_ms}"), url, ours, **UNLIMITED)
        log = (await sandbox_json(http, url, "/sandbox/log"))["entries"]
    sent = sum(e["kind"] == "kf_send" for e in log)
    refused = sum(e["kind"] == "kf_send_rejected" for e in log)
    n = customers * 5
    rate = {"sender": n / sender_s, "plain loop": n / loop_s, "gather(16)": n / gather_s}
    where = f"{latency_ms} ms added to each answer" if latency_ms else "loopback, answers in well under 1 ms"
    print(f"\n{label}, {where}: {n} kf/send_msg per method; delivered {sent} of {3 * n}, refused {refused}")
    for name, value in rate.items():
        print(f"  {name:<12}{value:>9.0f} sends/s   sender ÷ this: {rate['sender'] / value:>5.2f}")


async def ceiling(url_for: Callable[[str], str], customers: int, per_second: int = 100) -> None:
    async with sandbox_running(SandboxConfig(**{**QUIET, **RAISED})) as url, aiohttp.ClientSession() as http:
        pairs = await kf_customers(http, url, customers)
        capped = {**UNLIMITED, "global_per_second": per_second}
        seconds, busiest = await through_sender(url_for("capped"), url, pairs, **capped)
    print(
        f"  global ceiling {per_second}/s: {customers * 5} sends in {seconds:.2f} s; the busiest second held "
        f"{busiest} calls ({busiest / per_second:.2f} of the ceiling)"
    )


async def part_one(url_for: Callable[[str], str], label: str, customers: int) -> None:
    await compare(url_for, label, customers, 0)
    await compare(url_for, label, max(10, customers // 5), 30)
    await ceiling(url_for, max(20, customers // 5))


async def main_async(args: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} CPUs; sandbox in this process; sender defaults: batch 50, concurrency 16")
    with tempfile.TemporaryDirectory(prefix="qunke-bench-sender-") as tmp:
        await part_one(
            lambda name: f"sqlite+aiosqlite:///{tmp}/{name}.db", "sqlite (WAL, synchronous=FULL)", args.customers
        )
        if not args.skip_pg:
            try:
                cluster = await asyncio.to_thread(start_cluster)
            except PostgresUnavailable as exc:
                print(f"\npostgresql: SKIPPED ({exc})")
            else:
                try:
                    for name in ("free0", "free30", "capped"):
                        cluster.psql(f"CREATE DATABASE {name}")
                    await part_one(cluster.url, "postgresql (throwaway cluster)", args.customers)
                finally:
                    await asyncio.to_thread(cluster.stop)
        if not args.skip_limits:
            await run_limits(f"sqlite+aiosqlite:///{tmp}/limits.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=300, help="kf customers per method (5 sends each)")
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    parser.add_argument("--skip-limits", action="store_true", help="skip part 2 (real limits)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
