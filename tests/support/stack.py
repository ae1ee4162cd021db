"""The sandbox and the bot running side by side on loopback ports, talking real HTTP, for integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.config import DatabaseSettings, IngestSettings, Settings, WeComSettings
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from storage.db import create_db_engine, make_sessionmaker
from storage.models import InboundEvent, InboxStatus
from tests.support.postgres import free_port

DEMO = SandboxConfig()


def bot_settings(database_url: str, api_base: str, **ingest: Any) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url),
        wecom=WeComSettings(
            api_base=api_base,
            corp_id=DEMO.corp_id,
            agent_id=DEMO.agent_id,
            secret=DEMO.secret,
            token=DEMO.token,
            aes_key=DEMO.aes_key,
            request_timeout_s=5,
        ),
        ingest=IngestSettings(
            poll_interval_s=0.1, backoff_base_s=0.2, backoff_max_s=2, **{"sync_groups_on_start": False, **ingest}
        ),
    )


@dataclass
class Stack:
    sandbox_url: str
    bot_url: str
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: aiohttp.ClientSession

    async def act(self, action: str, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.sandbox_url}/sandbox/act/{action}", json=body) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
            return data

    async def sandbox_state(self) -> dict[str, Any]:
        async with self.http.get(f"{self.sandbox_url}/sandbox/state") as resp:
            data: dict[str, Any] = await resp.json()
            return data

    async def chaos(self, **settings: float) -> None:
        async with self.http.post(f"{self.sandbox_url}/sandbox/chaos", json=settings) as resp:
            assert resp.status == 200, await resp.text()

    async def sandbox_log(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.sandbox_url}/sandbox/log") as resp:
            data = await resp.json()
            entries: list[dict[str, Any]] = data["entries"] if isinstance(data, dict) else data
            return entries

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until the sandbox has nothing left to deliver and the bot's inbox has nothing left to do."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.http.get(f"{self.sandbox_url}/sandbox/pending") as resp:
                pending = (await resp.json())["pending"]
            if pending == 0 and not await self.inbox_busy():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not settled within {timeout} s")

    async def wait_for_groups(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the bot has stored `count` groups (start-up sync queues them in the background)."""
        from storage.models import Group

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.sessions() as session:
                stored = len((await session.execute(select(Group.chat_id))).all())
            if stored >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot stored fewer than {count} groups within {timeout} s")

    async def inbox_busy(self) -> bool:
        async with self.sessions() as session:
            row = await session.execute(select(InboundEvent.id).where(InboundEvent.status == InboxStatus.NEW).limit(1))
            return row.first() is not None

    async def inbound(self) -> list[InboundEvent]:
        async with self.sessions() as session:
            return list((await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars())


async def start_site(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@asynccontextmanager
async def running_stack(database_url: str, sandbox: SandboxConfig | None = None, **ingest: Any) -> AsyncIterator[Stack]:
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = replace(
        sandbox or SandboxConfig(duplicate_rate=0, late_rate=0, retry_interval_s=0.2, callback_timeout_s=2),
        callback_url=f"{bot_url}/wecom/callback",
    )
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    bot_runner = await start_site(create_app(bot_settings(database_url, sandbox_url, **ingest)), bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http)
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()
