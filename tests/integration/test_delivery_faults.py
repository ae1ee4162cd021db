"""WeCom's retries meet a slow answer and a crash between commit and ack: one stored row, one timeline entry."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from storage.db import create_db_engine
from tests.support.bot_process import start_bot, stop, wait_healthy
from tests.support.postgres import free_port
from tests.support.stack import Stack, calling_back, running_stack, start_site

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def write_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock on inbound_events so the bot's commit has to wait."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_db_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("LOCK TABLE inbound_events IN EXCLUSIVE MODE"))
            yield
            await conn.rollback()
    finally:
        await engine.dispose()


async def _join_someone(stack: Stack) -> tuple[str, str, str]:
    state = await stack.sandbox_state()
    group = state["groups"][0]
    inside = {m["userid"] for m in group["member_list"]}
    customer = next(c["external_userid"] for c in state["customers"] if c["external_userid"] not in inside)
    result = await stack.act("join-group", customer=customer, group=group["chat_id"], scene="qr")
    return str(result["delivery_ids"][0]), customer, group["chat_id"]


async def test_one_row_is_stored_when_wecom_retries_after_a_slow_first_answer(database_url: str) -> None:
    sandbox = SandboxConfig(duplicate_rate=0, late_rate=0, callback_timeout_s=1.0, retry_interval_s=0.2)
    async with running_stack(database_url, sandbox) as stack:
        async with write_lock(database_url):
            delivery, _, _ = await _join_someone(stack)
            await asyncio.sleep(2.5)  # the first attempt and the first retry time out while the lock is held
        await stack.settle()
        attempts = [e for e in await stack.sandbox_log() if e.get("delivery_id") == delivery]
        rows = [r for r in await stack.inbound() if r.kind == "change_external_chat/update"]
    assert attempts[0]["outcome"] == "timeout"
    assert attempts[-1]["outcome"] == "ok" and len(attempts) >= 2
    assert len(rows) == 1 and rows[0].status == "done"


async def test_replay_after_crash_between_commit_and_ack_is_not_duplicated(database_url: str) -> None:
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    config = calling_back(
        SandboxConfig(duplicate_rate=0, late_rate=0, callback_timeout_s=2, retry_interval_s=5), bot_url
    )
    sandbox_runner = await start_site(create_sandbox(config), sandbox_port)
    engine = create_db_engine(database_url)
    crashing = start_bot(database_url, sandbox_url, bot_port, "webhook.after_commit")
    restarted = None
    try:
        await wait_healthy(bot_url)
        from storage.db import make_sessionmaker

        stack = Stack(sandbox_url, bot_url, database_url, engine, make_sessionmaker(engine), aiohttp.ClientSession())
        async with stack.http:
            delivery, customer, chat_id = await _join_someone(stack)
            assert await asyncio.to_thread(crashing.wait, 20) == 86  # died right after its commit
            restarted = start_bot(database_url, sandbox_url, bot_port, "")
            await wait_healthy(bot_url)
            await stack.settle(timeout=30)
            attempts = [e for e in await stack.sandbox_log() if e.get("delivery_id") == delivery]
            rows = [r for r in await stack.inbound() if r.kind == "change_external_chat/update"]
            async with stack.sessions() as session:
                joins = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM customer_events e JOIN customers c ON c.id = e.customer_id "
                            "WHERE c.external_userid = :customer AND e.kind = 'joined_group' AND e.chat_id = :chat"
                        ),
                        {"customer": customer, "chat": chat_id},
                    )
                ).scalar_one()
    finally:
        for process in (crashing, restarted):
            await stop(process)
        await sandbox_runner.cleanup()
        await engine.dispose()
    assert attempts[0]["outcome"] == "connection_error" and attempts[-1]["outcome"] == "ok"
    assert len(rows) == 1 and rows[0].status == "done"
    assert joins == 1
