"""Shared pieces of bench/sender.py: a sandbox on a free port, kf customers with open windows, a running Sender."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Final

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wecom.client import WeComClient
from bot.config.sender import SenderSettings
from bot.config.settings import Settings
from bot.delivery.sender import Sender
from bot.metrics import Metrics
from sandbox.app import create_app as create_sandbox
from sandbox.clock import OffsetClock
from sandbox.config import SandboxConfig
from services.clock import Clock
from storage.db import create_db_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.outbox import Outbox, OutboxStatus
from storage.repos import outbox as outbox_repo
from storage.repos.windows import note_kf_customer_message
from tests.support.postgres import free_port
from tests.support.stack import DEMO, bot_settings

KfPair = tuple[str, str]
LIVE: Final = (OutboxStatus.QUEUED, OutboxStatus.DEFERRED, OutboxStatus.SENDING)
# Callbacks from kf-say go nowhere: the bench measures sending, not the webhook.
QUIET: Final[dict[str, Any]] = {"duplicate_rate": 0.0, "late_rate": 0.0, "retries": 0, "callback_timeout_s": 0.2}


@asynccontextmanager
async def sandbox_running(config: SandboxConfig, clock: Any = None) -> AsyncIterator[str]:
    port = free_port()
    # Each undeliverable callback is one warning in the sandbox's log: by design here, so not printed.
    logging.getLogger("sandbox.callbacks").setLevel(logging.ERROR)
    app = create_sandbox(replace(config, callback_url=f"http://127.0.0.1:{free_port()}/wecom/callback"), clock)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def kf_customers(http: aiohttp.ClientSession, sandbox_url: str, count: int) -> list[KfPair]:
    pairs = []
    for n in range(count):
        async with http.post(f"{sandbox_url}/sandbox/act/kf-say", json={"customer": "new", "text": f"咨询 {n}"}) as r:
            said = await r.json()
        pairs.append((str(said["open_kfid"]), str(said["external_userid"])))
    return pairs


async def open_windows(sessions: async_sessionmaker[AsyncSession], pairs: Sequence[KfPair], clock: Clock) -> None:
    async with sessions() as session, session.begin():
        for kfid, user in pairs:
            await note_kf_customer_message(session, kfid, user, clock.now())


def settings_for(database_url: str, sandbox_url: str, **sender: Any) -> Settings:
    base = bot_settings(database_url, sandbox_url)
    return base.model_copy(update={"sender": SenderSettings(**sender)})


@dataclass
class Bench:
    sessions: async_sessionmaker[AsyncSession]
    client: WeComClient
    settings: Settings


@asynccontextmanager
async def bench_db(database_url: str, sandbox_url: str, **sender: Any) -> AsyncIterator[Bench]:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            client = WeComClient(http, sandbox_url, DEMO.corp_id, DEMO.secret, 5.0, 8)
            yield Bench(make_sessionmaker(engine), client, settings_for(database_url, sandbox_url, **sender))
    finally:
        await engine.dispose()


async def live_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Outbox.status.in_(LIVE))) or 0)


async def run_sender_until_drained(bench: Bench, clock: Clock, seconds: float = 600) -> float:
    """Start a Sender, wait until no row is live, stop it; returns the wall time."""
    sender = Sender(bench.sessions, bench.client, None, clock, bench.settings, Metrics())
    started = time.perf_counter()
    task = asyncio.create_task(sender.run())
    try:
        while await live_rows(bench.sessions):
            if time.perf_counter() - started > seconds:
                raise RuntimeError(f"the outbox did not drain within {seconds} s")
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        sender.stop()
        await task


async def fast_forward_until_drained(bench: Bench, clock: OffsetClock, seconds: float = 600) -> float:
    """Run the sender cycle by cycle; whenever nothing may go now, move the shared clock to when something may.

    Sends take no simulated time, so what is measured is the quota logic (windows, margins), not this machine.
    """
    sender = Sender(bench.sessions, bench.client, None, clock, bench.settings, Metrics())
    started = time.perf_counter()
    while await live_rows(bench.sessions):
        if time.perf_counter() - started > seconds:
            raise RuntimeError(f"the outbox did not drain within {seconds} s")
        batch = await sender.run_once()
        if batch.claims and batch.rate_wait is None:
            continue
        if batch.examined and batch.rate_wait is None:
            continue  # rows were deferred; there may be more due behind them
        async with bench.sessions() as session:
            due = await outbox_repo.next_due(session, clock.now())
        moments = [m for m in (due, batch.rate_wait) if m is not None]
        if moments:
            clock.advance(max(0.001, (min(moments) - clock.now()).total_seconds()))
    return time.perf_counter() - started


async def sandbox_json(http: aiohttp.ClientSession, sandbox_url: str, path: str) -> Any:
    async with http.get(f"{sandbox_url}{path}") as resp:
        return await resp.json()
