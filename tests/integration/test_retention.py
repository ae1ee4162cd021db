"""privacy.retention_days: the daily job purges old messages and raw events, counts them in a metric and /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select, update

from bot.app import create_app
from bot.config.settings import PrivacySettings
from bot.retention_job import RETENTION_JOB
from bot.runtime import HEALTH
from sandbox.app import create_app as create_sandbox
from storage.db import create_db_engine, make_sessionmaker
from storage.models.inbox import InboundEvent, InboxStatus
from storage.models.messages import Message
from tests.integration.test_faq import eventually
from tests.support.postgres import free_port
from tests.support.stack import Stack, bot_settings, calling_back, sandbox_config, start_site


@asynccontextmanager
async def stack_with_app(database_url: str, privacy: PrivacySettings) -> AsyncIterator[tuple[Stack, web.Application]]:
    """The sandbox and the bot over real HTTP, keeping the bot's app so the test can run its job now."""
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    sandbox_runner = await start_site(create_sandbox(calling_back(sandbox_config(), bot_url)), sandbox_port)
    app = create_app(bot_settings(database_url, sandbox_url).model_copy(update={"privacy": privacy}))
    bot_runner = await start_site(app, bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http), app
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()


async def _json(stack: Stack, path: str) -> dict[str, Any]:
    async with stack.http.get(f"{stack.bot_url}{path}") as resp:
        body: dict[str, Any] = await resp.json()
        return body


async def test_messages_and_handled_events_older_than_the_retention_are_purged_when_the_daily_job_runs(
    database_url: str,
) -> None:
    async with stack_with_app(database_url, PrivacySettings(retention_days=30, batch_size=1)) as (stack, app):
        said = await stack.act("kf-say", customer="new", text="旧消息：我家住在幸福路 8 号")
        await stack.act("kf-say", customer=said["external_userid"], text="新消息：快递到了吗")

        async def both_stored() -> list[str] | None:
            async with stack.sessions() as session:
                texts = list((await session.execute(select(Message.text))).scalars())
            return texts if sum("消息：" in t for t in texts) == 2 else None

        await eventually(both_stored)
        await stack.settle()
        long_ago = datetime.now(UTC) - timedelta(days=40)
        async with stack.sessions() as session, session.begin():
            await session.execute(update(Message).where(Message.text.like("旧消息%")).values(sent_at=long_ago))
            await session.execute(update(InboundEvent).values(received_at=long_ago))
            await session.execute(
                update(InboundEvent)
                .where(InboundEvent.id == select(InboundEvent.id).limit(1).scalar_subquery())
                .values(status=InboxStatus.FAILED)
            )

        await app[HEALTH].scheduler.run_now(RETENTION_JOB)  # type: ignore[union-attr]

        async with stack.sessions() as session:
            texts = list((await session.execute(select(Message.text))).scalars())
            events = list((await session.execute(select(InboundEvent.status))).scalars())
        assert not any(t.startswith("旧消息") for t in texts) and any(t.startswith("新消息") for t in texts)
        assert events == [InboxStatus.FAILED]  # a failed event is still work: only handled ones go
        job = (await _json(stack, "/healthz"))["scheduler"]["jobs"][RETENTION_JOB]
        assert (job["runs"], job["failures"], job["last_error"]) == (1, 0, None) and job["next_run"]
        async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
            metrics = await resp.text()
        assert 'qunke_retention_purged_total{table="messages"} 1.0' in metrics
        assert 'qunke_retention_purged_total{table="inbound_events"}' in metrics


async def test_no_retention_job_is_scheduled_when_retention_days_is_zero(database_url: str) -> None:
    async with stack_with_app(database_url, PrivacySettings()) as (stack, _):
        assert RETENTION_JOB not in (await _json(stack, "/healthz"))["scheduler"]["jobs"]
