"""A bot process that dies in the middle of a kf pull or an archive pull loses and repeats nothing on restart."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import aiohttp
from sqlalchemy import func, select

from sandbox.app import create_app as create_sandbox
from storage.db import create_db_engine, make_sessionmaker
from storage.models.messages import Message, SenderKind
from tests.support.bot_process import start_bot, stop, wait_healthy
from tests.support.postgres import free_port
from tests.support.stack import calling_back, sandbox_config, start_site

KF_MESSAGES = 2300  # three sync_msg pages of at most 1000
ARCHIVE_MESSAGES = 2300  # three archive pages of at most 1000


async def act(http: aiohttp.ClientSession, sandbox_url: str, action: str, **body: object) -> dict[str, object]:
    async with http.post(f"{sandbox_url}/sandbox/act/{action}", json=body) as resp:
        data: dict[str, object] = await resp.json()
        assert resp.status == 200, data
        return data


async def counts(database_url: str) -> dict[str, tuple[int, int]]:
    """Per channel: stored rows and distinct source keys (equal when nothing was stored twice) of what WeCom
    delivered; the bot's own replies (a greeting menu to chit-chat), recorded from its outbox, are not pulled."""
    engine = create_db_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(Message.channel, func.count(), func.count(func.distinct(Message.source_key)))
                .where(Message.sender_kind != SenderKind.BOT)
                .group_by(Message.channel)
            )
            return {channel: (total, distinct) for channel, total, distinct in rows.all()}
    finally:
        await engine.dispose()


# How long a process may take to reach its failpoint: each page is 1,000 messages through every feature (the FAQ's
# greeting menus included), which takes over a minute on a loaded 2-core machine. A deadline, not a timing assertion.
CRASH_DEADLINE_S = 180


async def wait_for(database_url: str, channel: str, count: int, seconds: float = CRASH_DEADLINE_S) -> tuple[int, int]:
    deadline = time.monotonic() + seconds
    found = (0, 0)
    while time.monotonic() < deadline:
        found = (await counts(database_url)).get(channel, (0, 0))
        if found[0] >= count:
            return found
        await asyncio.sleep(0.2)
    return found


async def test_a_crash_mid_pull_loses_and_repeats_nothing(database_url: str) -> None:
    bot_port, sandbox_port = free_port(), free_port()
    bot_url, sandbox_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{sandbox_port}"
    # No retries while the bot is down: the messages wait in kf and in the archive, as they would at WeCom.
    config = replace(calling_back(sandbox_config(), bot_url), retries=0, callback_timeout_s=1)
    sandbox = await start_site(create_sandbox(config), sandbox_port)
    crashing = restarted = None
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sandbox_url}/sandbox/state") as resp:
                state = await resp.json()
            group = state["groups"][0]
            speaker = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
            kf_customer = state["customers"][0]["external_userid"]
            for i in range(ARCHIVE_MESSAGES):
                await act(http, sandbox_url, "say", **{"as": speaker, "in": group["chat_id"]}, text=f"群消息{i}")
            for i in range(KF_MESSAGES - 1):
                await act(http, sandbox_url, "kf-say", customer=kf_customer, text=f"客服消息{i}")

            # The first process dies before committing the second page of each pull; the archive pull starts at
            # start-up (its timer), the kf pull on the next kf_msg_or_event.
            crashing = start_bot(database_url, sandbox_url, bot_port, "archive.before_commit@2")
            assert await asyncio.to_thread(crashing.wait, CRASH_DEADLINE_S) == 86
            assert (await counts(database_url)).get("archive", (0, 0)) == (1000, 1000)

            crashing = start_bot(database_url, sandbox_url, bot_port, "kf.before_commit@2")
            await wait_healthy(bot_url)
            await act(http, sandbox_url, "kf-say", customer=kf_customer, text="最后一条")
            assert await asyncio.to_thread(crashing.wait, CRASH_DEADLINE_S) == 86
            assert (await counts(database_url)).get("kf", (0, 0)) == (1000, 1000)

            restarted = start_bot(database_url, sandbox_url, bot_port)
            await wait_healthy(bot_url)
            archive = await wait_for(database_url, "archive", ARCHIVE_MESSAGES)
            # kf resumes on the next callback (the replayed one, or any new message)
            await act(http, sandbox_url, "kf-say", customer=kf_customer, text="重启之后")
            kf = await wait_for(database_url, "kf", KF_MESSAGES + 1)
    finally:
        await stop(crashing)
        await stop(restarted)
        await sandbox.cleanup()
    assert archive == (ARCHIVE_MESSAGES, ARCHIVE_MESSAGES)
    assert kf == (KF_MESSAGES + 1, KF_MESSAGES + 1)
