"""The sandbox and the bot with its sender, on loopback, for tests of what the bot sends and how often."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.config.platform import OfficialAccountSettings
from bot.config.sender import SenderSettings
from bot.config.settings import Settings
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from services.clock import SystemClock
from storage.db import create_db_engine, make_sessionmaker
from storage.models.outbox import Outbox, OutboxStatus
from tests.support.postgres import free_port
from tests.support.stack import bot_settings, calling_back, start_site

T = TypeVar("T")
LIVE = (OutboxStatus.QUEUED, OutboxStatus.DEFERRED, OutboxStatus.SENDING)

# Quick polls and short leases so crashes resolve in seconds; every WeCom limit stays at its real value.
FAST_SENDER: dict[str, Any] = {
    "poll_interval_s": 0.05,
    "lease_s": 6.0,
    "backoff_base_s": 0.2,
    "backoff_max_s": 1.0,
    "rate_limit_pause_s": 1.0,
    "mass_poll_interval_s": 0.3,
    "mass_poll_max_interval_s": 1.0,
    "global_per_second": 200,
}
SANDBOX_DEFAULTS: dict[str, Any] = {
    "duplicate_rate": 0.0,
    "late_rate": 0.0,
    "callback_timeout_s": 2.0,
    "retry_interval_s": 0.2,
    "task_dispatch_s": 0.2,
    "task_auto_confirm_s": 0.5,
}


def sender_settings(database_url: str, sandbox_url: str, **sender: Any) -> Settings:
    base = bot_settings(database_url, sandbox_url)
    oa = SandboxConfig().oa
    return base.model_copy(
        update={
            "sender": SenderSettings(**{**FAST_SENDER, **sender}),
            "wecom": base.wecom.model_copy(update={"request_timeout_s": 2.0}),
            # An empty KB: the FAQ would otherwise answer or greet the customers these tests make speak (to open a
            # window), racing its replies against the rows a test counts, depending on when its matcher is built.
            "faq": base.faq.model_copy(update={"example_kb": ""}),
            "officialaccount": OfficialAccountSettings(
                api_base=f"{sandbox_url}/oa", app_id=oa.app_id, secret=oa.secret, token=oa.token, aes_key=oa.aes_key
            ),
        }
    )


@dataclass
class SenderStack:
    sandbox_url: str
    bot_url: str
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: aiohttp.ClientSession

    async def queue(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one transaction, as a handler's unit of work would, and commit it."""
        async with self.sessions() as session, session.begin():
            return await work(session)

    async def outbox(self) -> list[Outbox]:
        async with self.sessions() as session:
            return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())

    async def drained(self, timeout: float = 30.0, *, allow_deferred: bool = False) -> list[Outbox]:
        """Wait until no row is queued or sending (nor deferred unless allowed); returns every row."""
        live = (OutboxStatus.QUEUED, OutboxStatus.SENDING) if allow_deferred else LIVE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await self.outbox()
            if not any(r.status in live for r in rows):
                return rows
            await asyncio.sleep(0.05)
        pending = [(r.id, r.kind, r.status, r.reason) for r in await self.outbox() if r.status in live]
        raise AssertionError(f"outbox not drained within {timeout} s: {pending[:10]}")

    async def get(self, path: str, **params: str) -> Any:
        async with self.http.get(f"{self.sandbox_url}{path}", params=params) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def post(self, path: str, body: Any) -> Any:
        async with self.http.post(f"{self.sandbox_url}{path}", json=body) as resp:
            data = await resp.json()
            assert resp.status in (200, 201), data
            return data

    async def act(self, action: str, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(f"/sandbox/act/{action}", body)
        return result

    async def log(self, *kinds: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = (await self.get("/sandbox/log"))["entries"]
        return [e for e in entries if not kinds or e["kind"] in kinds]

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/sandbox/state")
        return result

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/sandbox/limits")
        return result

    async def fault(self, api: str, **fault: Any) -> None:
        await self.post("/sandbox/faults", {"api": api, **fault})


@asynccontextmanager
async def sender_stack(
    database_url: str, sandbox: SandboxConfig | None = None, **sender: Any
) -> AsyncIterator[SenderStack]:
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = calling_back(sandbox or SandboxConfig(**SANDBOX_DEFAULTS), bot_url)
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    settings = sender_settings(database_url, sandbox_url, **sender)
    bot_runner: web.AppRunner = await start_site(create_app(settings, SystemClock()), bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield SenderStack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http)
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()
