"""The load generator for bench/ingest.py: a separate process that fires pre-built callbacks over aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Final

import aiohttp

HEADERS: Final = {"Content-Type": "text/xml; charset=utf-8"}
TRANSPORT_ERROR: Final = -1


@dataclass(frozen=True, slots=True)
class Job:
    """Callbacks to deliver (query string, body) through `concurrency` connections; 0 fires them all at once."""

    url: str
    deliveries: list[tuple[str, bytes]]
    concurrency: int


@dataclass(frozen=True, slots=True)
class Outcome:
    elapsed_s: float
    latencies_s: list[float]  # send to 200, for acknowledged deliveries only
    statuses: dict[int, int]

    @property
    def acked(self) -> int:
        return self.statuses.get(200, 0)


def serve(conn: Connection) -> None:
    """Run jobs from the pipe until it sends None; each job arrives whole before its clock starts."""
    while (job := conn.recv()) is not None:
        conn.send(asyncio.run(run_job(job)))


async def run_job(job: Job) -> Outcome:
    width = job.concurrency or len(job.deliveries)
    connector = aiohttp.TCPConnector(limit=width)
    timeout = aiohttp.ClientTimeout(total=120)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    pending = iter(job.deliveries)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(_deliver(http, job.url, pending, latencies, statuses) for _ in range(width)))
        elapsed = time.perf_counter() - started
    return Outcome(elapsed, latencies, dict(statuses))


async def _deliver(
    http: aiohttp.ClientSession,
    url: str,
    pending: Iterator[tuple[str, bytes]],
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    # Every connection pulls the next delivery from one shared iterator, so exactly `width` are in flight.
    for query, body in pending:
        sent = time.perf_counter()
        try:
            async with http.post(f"{url}?{query}", data=body, headers=HEADERS) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            status = TRANSPORT_ERROR
        statuses[status] += 1
        if status == 200:
            latencies.append(time.perf_counter() - sent)
