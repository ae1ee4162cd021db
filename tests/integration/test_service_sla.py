"""A waiting kf customer over real HTTP: the sandbox says, the bot opens a wait, time moves, the rep is alerted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import create_app
from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from bot.policies import service_rules
from services.clock import ManualClock
from services.service import sla
from storage.db import create_db_engine, make_sessionmaker
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus
from storage.models.service import ChatWait
from tests.support.postgres import free_port
from tests.support.stack import Stack, bot_settings, calling_back, sandbox_config, start_site

SERVICE = ServiceSettings(managers=("lisi",), on_duty=("wangwu",))


@asynccontextmanager
async def sla_stack(database_url: str, clock: ManualClock) -> AsyncIterator[tuple[Stack, Settings]]:
    """Sandbox + bot as in tests/support/stack.py, but the bot runs on a manual clock with a service section."""
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = calling_back(sandbox_config(), bot_url)
    from sandbox.app import create_app as create_sandbox

    base = bot_settings(database_url, sandbox_url)
    # No KB: the FAQ would answer the shipping question itself and (rightly) close the wait as answered by the bot.
    faq = base.faq.model_copy(update={"example_kb": ""})
    settings = base.model_copy(update={"service": SERVICE, "faq": faq})
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    bot_runner = await start_site(create_app(settings, clock), bot_port)
    engine = create_db_engine(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            yield Stack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), http), settings
    finally:
        await bot_runner.cleanup()
        await sandbox_runner.cleanup()
        await engine.dispose()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


async def test_a_kf_question_alerts_the_on_duty_rep_then_the_manager_through_the_sandbox(database_url: str) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with sla_stack(database_url, clock) as (stack, settings):
        state = await stack.sandbox_state()
        customer = next(c["external_userid"] for c in state["customers"] if c["name"] == "晴天☀️")
        await stack.act("say", **{"as": customer, "in": "kf"}, text="请问今天下单什么时候发货？")

        async def opened() -> ChatWait | None:
            async with stack.sessions() as session:
                return (await session.execute(select(ChatWait))).scalar_one_or_none()

        wait: ChatWait = await eventually(opened)
        assert (wait.chat_type, wait.owner_userid, wait.policy) == ("kf", None, "default")
        rules = service_rules(settings)
        assert wait.due_at == rules.calendar.add_business_time(wait.waiting_since, 30 * 60)
        assert wait.next_check_at is not None

        async def app_messages() -> list[dict[str, Any]]:
            return [e for e in await stack.sandbox_log() if e["kind"] == "app_message"]

        # Just before the warning moment, a tick sends nothing.
        clock.set(wait.next_check_at - timedelta(seconds=1))
        assert (await sla.tick(stack.sessions, rules, clock.now())).alerts == 0
        # The warning moment: the on-duty rep hears of it through the bot's sender and the sandbox's message/send.
        clock.set(wait.next_check_at)
        await sla.tick(stack.sessions, rules, clock.now())
        [warning] = await eventually(app_messages)
        assert warning["userid"] == "wangwu"
        assert "客户在等你回复" in warning["content"] and "微信客服" in warning["content"]
        assert "请问今天下单什么时候发货？" in warning["content"]

        clock.set(wait.due_at)
        await sla.tick(stack.sessions, rules, clock.now())
        await sla.tick(stack.sessions, rules, clock.now())

        async def all_sent() -> bool:
            async with stack.sessions() as session:
                rows = (await session.execute(select(Outbox).where(Outbox.kind == OutboxKind.APP_MESSAGE))).scalars()
                statuses = [row.status for row in rows]
            return len(statuses) == 2 and all(s == OutboxStatus.SENT for s in statuses)

        await eventually(all_sent)
        delivered = await app_messages()
        assert [e["userid"] for e in delivered] == ["wangwu", "lisi"]
        assert "客户等待已超时" in delivered[1]["content"]
