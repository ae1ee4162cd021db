"""The sandbox and the bot running side by side on loopback ports, talking real HTTP, for integration tests."""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.config.platform import (
    ArchiveSettings,
    DatabaseSettings,
    IngestSettings,
    OfficialAccountSettings,
    WeComSettings,
)
from bot.config.settings import Settings
from sandbox.app import create_app as create_sandbox
from sandbox.config import ArchiveConfig, SandboxConfig
from services.clock import Clock
from storage.db import create_db_engine, make_sessionmaker
from storage.models.inbox import InboundEvent, InboxStatus
from tests.support.postgres import free_port

DEMO = SandboxConfig()
ARCHIVE_SECRET = "qunke-test-archive-secret"


@functools.cache
def archive_key_files() -> tuple[Path, bytes]:
    """One RSA key pair per test session: the bot reads the private key file, the sandbox gets the public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = Path(tempfile.mkdtemp(prefix="qunke-archive-keys-"))
    private = folder / "archive_private.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def sandbox_config(**overrides: Any) -> SandboxConfig:
    """The sandbox for integration tests: no chaos, quick retries, the archive on with a quick notify."""
    _, public = archive_key_files()
    # WeCom notifies at most every 15 s; two identical notifies within one second would dedupe as a redelivery.
    archive = ArchiveConfig(public_key_pem=public, key_version=1, secret=ARCHIVE_SECRET, notify_interval_s=1.0)
    base = SandboxConfig(duplicate_rate=0, late_rate=0, retry_interval_s=0.2, callback_timeout_s=2, archive=archive)
    return replace(base, **overrides)


def calling_back(config: SandboxConfig, bot_url: str) -> SandboxConfig:
    """The sandbox calling back this test's bot on both channels: a default URL would reach a demo on port 8080."""
    config = replace(config, callback_url=f"{bot_url}/wecom/callback")
    return replace(config, oa=replace(config.oa, callback_url=f"{bot_url}/wechat/callback"))


def bot_settings(database_url: str, api_base: str, **ingest: Any) -> Settings:
    private, _ = archive_key_files()
    return Settings(
        database=DatabaseSettings(url=database_url),
        officialaccount=OfficialAccountSettings(
            api_base=f"{api_base}/oa",
            app_id=DEMO.oa.app_id,
            secret=DEMO.oa.secret,
            token=DEMO.oa.token,
            aes_key=DEMO.oa.aes_key,
        ),
        archive=ArchiveSettings(secret=ARCHIVE_SECRET, private_keys=f"1={private}", poll_interval_s=30),
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
            poll_interval_s=0.1,
            backoff_base_s=0.2,
            backoff_max_s=2,
            **{"sync_groups_on_start": False, "import_contacts_on_start": False, **ingest},
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
        from storage.models.groups import Group

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
async def running_stack(
    database_url: str,
    sandbox: SandboxConfig | None = None,
    *,
    settings_update: dict[str, Any] | None = None,
    clock: Clock | None = None,
    **ingest: Any,
) -> AsyncIterator[Stack]:
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = calling_back(sandbox or sandbox_config(), bot_url)
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    settings = bot_settings(database_url, sandbox_url, **ingest).model_copy(update=settings_update or {})
    bot_runner = await start_site(create_app(settings, clock), bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http)
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()
