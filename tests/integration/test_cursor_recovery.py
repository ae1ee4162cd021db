"""A saved cursor the source no longer takes (kf 40058, an archive seq ahead of a reset archive): one warning, a
metric, and a restart that loses nothing and doubles nothing, over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_dispatcher
from bot.channels.wecom.archive import ArchiveKeys, SandboxArchiveSource
from bot.channels.wecom.archive_pages import CURSOR as ARCHIVE_CURSOR
from bot.channels.wecom.archive_puller import ArchivePuller
from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.directory import WeComDirectory
from bot.config.settings import Settings
from bot.dispatch import Features
from bot.ingest.pulls import PageLoop
from bot.metrics import Metrics
from services.clock import SystemClock
from storage.models.messages import Message
from storage.repos import cursors
from tests.support.stack import ARCHIVE_SECRET, DEMO, Stack, archive_key_files, running_stack


async def _messages(stack: Stack, channel: str, speaker: str | None = None) -> list[str]:
    """The channel's stored texts in order; `speaker` keeps one side (the bot may answer a question in kf)."""
    query = select(Message.text).where(Message.channel == channel)
    if speaker is not None:
        query = query.where(Message.sender_kind == speaker)
    async with stack.sessions() as session:
        return list((await session.execute(query.order_by(Message.id))).scalars())


async def _wait_for_messages(
    stack: Stack, channel: str, count: int, timeout: float = 45.0, speaker: str | None = None
) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = await _messages(stack, channel, speaker)
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"fewer than {count} {channel} messages within {timeout} s: {await _messages(stack, channel, speaker)}"
    )


async def _resets(stack: Stack, channel: str) -> float:
    async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
        text = await resp.text()
    line = next((x for x in text.splitlines() if x.startswith(f'qunke_cursor_resets_total{{channel="{channel}"}}')), "")
    return float(line.split()[-1]) if line else 0.0


def _group_speaker(state: dict[str, Any]) -> tuple[str, str]:
    group = state["groups"][0]
    customer = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
    return group["chat_id"], customer


async def test_kf_pull_restarts_from_an_empty_cursor_when_sync_msg_rejects_the_saved_one(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(database_url) as stack:
        _, customer = _group_speaker(await stack.sandbox_state())
        await stack.act("kf-say", customer=customer, text="第一句：在吗")
        await _wait_for_messages(stack, "kf", 1, speaker="customer")
        fault = {"api": "/cgi-bin/kf/sync_msg", "errcode": 40058, "times": 1}
        async with stack.http.post(f"{stack.sandbox_url}/sandbox/faults", json=fault) as resp:
            assert resp.status == 200, await resp.text()
        with caplog.at_level(logging.WARNING, logger="qunke.kf"):
            await stack.act("kf-say", customer=customer, text="第二句：我想退货")
            texts = await _wait_for_messages(stack, "kf", 2, speaker="customer")
            await stack.settle()
        # "我想退货" may draw a "did you mean" menu from the bot: the customer's side is compared, the whole
        # channel is checked for doubles.
        assert await _messages(stack, "kf", "customer") == texts == ["第一句：在吗", "第二句：我想退货"]
        everything = await _messages(stack, "kf")
        assert len(everything) == len(set(everything)), everything  # nothing doubled, neither side
        assert await _resets(stack, "kf") == 1
        assert sum("rejected the saved cursor" in r.getMessage() for r in caplog.records) == 1


async def test_kf_pull_recovers_when_a_fresh_sandbox_meets_an_old_database(database_url: str) -> None:
    async with running_stack(database_url) as first:
        _, customer = _group_speaker(await first.sandbox_state())
        await first.act("kf-say", customer=customer, text="第一次来")
        await _wait_for_messages(first, "kf", 1)
    async with running_stack(database_url) as second:  # its cursors are signed with a new key: 40058
        await second.act("kf-say", customer=customer, text="第二次来：上次的问题还没解决")
        deadline = time.monotonic() + 45
        while "第二次来：上次的问题还没解决" not in await _messages(second, "kf"):
            assert time.monotonic() < deadline, await _messages(second, "kf")
            await asyncio.sleep(0.05)
        assert await _resets(second, "kf") == 1
        texts = await _messages(second, "kf", "customer")
        assert len(texts) == len(set(texts))


async def test_archive_pull_reads_a_reset_archive_from_the_start_when_the_saved_seq_is_ahead(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(database_url) as first:
        chat, customer = _group_speaker(await first.sandbox_state())
        for text in ("旧消息一", "旧消息二", "旧消息三"):
            await first.act("say", **{"as": customer, "in": chat}, text=text)
        await _wait_for_messages(first, "archive", 3)
        async with first.sessions() as session:
            assert int(await cursors.read(session, ARCHIVE_CURSOR)) >= 3
    # A fresh sandbox (an empty archive) against the same database, as a second `make demo` did.
    async with running_stack(database_url) as second:
        with caplog.at_level(logging.WARNING, logger="qunke.archive"):
            await second.act("say", **{"as": customer, "in": chat}, text="新的一条：发票怎么开")
            texts = await _wait_for_messages(second, "archive", 4)
        assert texts == ["旧消息一", "旧消息二", "旧消息三", "新的一条：发票怎么开"]
        assert await _resets(second, "archive") == 1
        assert sum("ahead of the archive" in r.getMessage() for r in caplog.records) == 1
        async with second.sessions() as session:
            assert await cursors.read(session, ARCHIVE_CURSOR) == "1"
        await second.act("say", **{"as": customer, "in": chat}, text="再来一条")
        await _wait_for_messages(second, "archive", 5)
        assert await _resets(second, "archive") == 1  # read on from the new seq, no second reset


async def test_archive_pull_does_not_reset_when_nothing_new_arrived(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        chat, customer = _group_speaker(await stack.sandbox_state())
        await stack.act("say", **{"as": customer, "in": chat}, text="只有一条")
        await _wait_for_messages(stack, "archive", 1)
        private, _ = archive_key_files()
        source = SandboxArchiveSource(stack.http, stack.sandbox_url, DEMO.corp_id, ARCHIVE_SECRET, 5)
        client = WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        metrics = Metrics()
        features = Features.of(Settings(), faq=None, metrics=metrics)
        pages = PageLoop(stack.sessions, build_dispatcher(), WeComDirectory(client), SystemClock(), metrics, features)
        puller = ArchivePuller(source, ArchiveKeys.load({1: private}), metrics, pages)
        try:
            assert await puller.pull() == 0  # the bot read it already: nothing new, and no reason to reset
            assert await puller.pull() == 0
        finally:
            puller.close()
        assert metrics.cursor_resets.labels("archive")._value.get() == 0
        assert await _messages(stack, "archive") == ["只有一条"]


async def test_archive_pull_stores_each_page_once_when_every_full_page_reads_the_next_ahead(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        chat, customer = _group_speaker(await stack.sandbox_state())
        said = [f"第{i}条" for i in range(7)]
        for text in said:
            await stack.act("say", **{"as": customer, "in": chat}, text=text)
        await _wait_for_messages(stack, "archive", 7)
        # A notify still on its way would start the stack's own puller from the reset cursor, racing this one.
        await stack.settle()
        async with stack.sessions() as session:
            last = await cursors.read(session, ARCHIVE_CURSOR)
            await cursors.save(session, ARCHIVE_CURSOR, "0", SystemClock().now())
            await session.commit()
        private, _ = archive_key_files()
        source = SandboxArchiveSource(stack.http, stack.sandbox_url, DEMO.corp_id, ARCHIVE_SECRET, 5)
        client = WeComClient(stack.http, stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        metrics = Metrics()
        features = Features.of(Settings(), faq=None, metrics=metrics)
        pages = PageLoop(stack.sessions, build_dispatcher(), WeComDirectory(client), SystemClock(), metrics, features)
        puller = ArchivePuller(source, ArchiveKeys.load({1: private}), metrics, pages, limit=2)
        try:
            assert await puller.pull() == 7  # four pages, each but the first read ahead while the last was stored
        finally:
            puller.close()
        async with stack.sessions() as session:
            assert await cursors.read(session, ARCHIVE_CURSOR) == last
        assert await _messages(stack, "archive") == said  # read again, stored once
