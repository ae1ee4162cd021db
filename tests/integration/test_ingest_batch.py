"""The ingest worker's batches: one transaction per batch, a savepoint per event, a crash redoes the batch once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.channels.wecom.parse import parse_xml, to_callback
from sandbox.app import create_app as create_sandbox
from services.customers.lifecycle import INTERNAL_SOURCE, RESYNC_KIND
from storage.db import create_db_engine, make_sessionmaker
from storage.models.customers import CustomerEvent
from storage.models.inbox import InboundEvent, InboxStatus
from storage.repos.inbound import NewInbound, insert_many_if_new
from tests.support.bot_process import BotProcess, write_config
from tests.support.postgres import free_port
from tests.support.stack import DEMO, calling_back, running_stack, sandbox_config, start_site


def contact_added(member: str, external_userid: str) -> NewInbound:
    """The stored form of a change_external_contact/add_external_contact callback, as the webhook keeps it."""
    plain = (
        f"<xml><ToUserName><![CDATA[{DEMO.corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
        f"<UserID><![CDATA[{member}]]></UserID><ExternalUserID><![CDATA[{external_userid}]]></ExternalUserID></xml>"
    )
    callback = to_callback(parse_xml(plain))
    return NewInbound(callback.dedupe_key, "wecom", callback.kind, plain, datetime.now(UTC))


def group_resync(key: str, payload: dict[str, Any]) -> NewInbound:
    return NewInbound(f"test:{key}", INTERNAL_SOURCE, RESYNC_KIND, json.dumps(payload), datetime.now(UTC))


def batch_of(state: dict[str, Any], poison: bool) -> list[NewInbound]:
    follows = [(f["userid"], c["external_userid"]) for c in state["customers"] for f in c["follows"]][:8]
    rows = [contact_added(member, external) for member, external in follows]
    if poison:  # a re-read of a group that names none: it cannot be handled, however often it is tried
        rows.insert(len(rows) // 2, group_resync("poison", {}))
    rows += [group_resync(g["chat_id"], {"chat_id": g["chat_id"]}) for g in state["groups"]]
    return rows


async def store(database_url: str, rows: list[NewInbound]) -> None:
    engine = create_db_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await insert_many_if_new(session, rows)
    finally:
        await engine.dispose()


async def inbox_and_entries(database_url: str) -> tuple[list[InboundEvent], Counter[str]]:
    """Every inbox row, and how many timeline entries each source key has."""
    engine = create_db_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = list((await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars())
            entries = await session.execute(
                select(CustomerEvent.source_key, func.count()).group_by(CustomerEvent.source_key)
            )
            return rows, Counter({key: int(n) for key, n in entries.all()})
    finally:
        await engine.dispose()


async def settled(database_url: str, seconds: float = 60) -> tuple[list[InboundEvent], Counter[str]]:
    deadline = time.monotonic() + seconds
    while True:
        rows, entries = await inbox_and_entries(database_url)
        if all(r.status != InboxStatus.NEW for r in rows) or time.monotonic() > deadline:
            return rows, entries
        await asyncio.sleep(0.1)


async def test_the_rest_of_a_batch_is_done_when_one_event_in_it_fails(database_url: str) -> None:
    async with running_stack(database_url, max_attempts=2) as stack:
        rows = batch_of(await stack.sandbox_state(), poison=True)
        await store(database_url, rows)
        stored, entries = await settled(database_url)

    by_key = {r.dedupe_key: r for r in stored}
    poisoned = by_key.pop("test:poison")
    assert poisoned.status == InboxStatus.FAILED and poisoned.attempts == 2, (poisoned.status, poisoned.attempts)
    assert "chat_id" in poisoned.last_error, poisoned.last_error
    assert all(r.status == InboxStatus.DONE and r.attempts == 0 for r in by_key.values()), [
        (r.kind, r.status, r.last_error) for r in by_key.values()
    ]
    added = [r.dedupe_key for r in rows if r.source == "wecom"]
    assert added and all(entries[key] == 1 for key in added), entries


async def test_a_batch_is_redone_exactly_once_when_the_process_dies_before_its_commit(
    database_url: str, tmp_path: Path
) -> None:
    bot_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox_app = create_sandbox(calling_back(sandbox_config(), f"http://127.0.0.1:{bot_port}"))
    sandbox = await start_site(sandbox_app, sandbox_port)
    ingest = {"sync_groups_on_start": False, "import_contacts_on_start": False, "poll_interval_s": 0.1}
    config = write_config(tmp_path / "config.yaml", ingest=ingest)
    bot = BotProcess(database_url, sandbox_url, bot_port, config, tmp_path / "bot.log")
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{sandbox_url}/sandbox/state") as resp:
            state = await resp.json()
        rows = batch_of(state, poison=False)
        await store(database_url, rows)
        bot.start("ingest.before_commit")
        assert await bot.exited(60) == 86, bot.tail()
        crashed, crashed_entries = await inbox_and_entries(database_url)
        bot.start()
        done, entries = await settled(database_url)
        await bot.stop()
    finally:
        bot.kill()
        await sandbox.cleanup()

    # The dying batch left nothing: every event still queued, no entry written, nothing counted as an attempt.
    assert all(r.status == InboxStatus.NEW and r.attempts == 0 for r in crashed), Counter(r.status for r in crashed)
    assert not crashed_entries, crashed_entries
    assert all(r.status == InboxStatus.DONE and r.attempts == 0 for r in done), [(r.kind, r.last_error) for r in done]
    added = [r.dedupe_key for r in rows if r.source == "wecom"]
    assert added and all(entries[key] == 1 for key in added), entries
