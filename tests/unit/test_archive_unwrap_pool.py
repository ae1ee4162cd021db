"""A backlog page's RSA unwraps in the worker process: the same messages and the same failure reasons, in order,
as the thread path gives, and a page read ahead is the page asked for."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from bot.channel_ports import ChannelPage
from bot.channels.wecom.archive import ArchiveItem, ArchiveKeys, SandboxArchiveSource
from bot.channels.wecom.archive_pages import BACKLOG_ITEMS, ArchivePages
from bot.channels.wecom.unwrap_pool import UnwrapPool
from bot.events import ChatMessage
from bot.metrics import Metrics
from tests.unit.test_archive_source import KEY, sealed

NOW = datetime(2026, 12, 6, tzinfo=UTC)


class MemoryArchive(SandboxArchiveSource):
    """The sandbox's symmetric scheme over items held in memory (no network)."""

    def __init__(self, items: list[ArchiveItem]) -> None:
        self.items, self.fetches = items, list[int]()

    async def fetch(self, seq: int, limit: int) -> list[ArchiveItem]:
        self.fetches.append(seq)
        return [i for i in self.items if i.seq > seq][:limit]


def archive(count: int) -> list[ArchiveItem]:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    items = []
    for seq in range(1, count + 1):
        message = {"msgid": f"m{seq}", "action": "send", "from": "wmX", "tolist": ["zhangsan"], "roomid": "wrX"}
        message |= {"msgtime": 1_700_000_000_000 + seq, "msgtype": "text", "text": {"content": f"第{seq}条"}}
        version, key = {3: (9, KEY), 5: (1, other)}.get(seq, (1, KEY))  # 3: unknown version; 5: the wrong key
        item = sealed(message, version=version, key=key)
        items.append(ArchiveItem(seq, item.msgid, item.publickey_ver, item.encrypt_random_key, item.encrypt_chat_msg))
    return items


async def read_two_pages(items: list[ArchiveItem], processes: int) -> tuple[list[ChannelPage], list[int]]:
    source = MemoryArchive(items)
    pages = ArchivePages(source, ArchiveKeys({1: KEY}), Metrics(), limit=BACKLOG_ITEMS, threads=2, processes=processes)
    try:
        first = await pages.read_page(None, "0", NOW)  # type: ignore[arg-type]  # the archive reads no session
        second = await pages.read_page(None, first.next_cursor, NOW)  # type: ignore[arg-type]
    finally:
        pages.close()
    return [first, second], source.fetches


def outcome(page: ChannelPage) -> tuple[list[str], list[tuple[int, str]]]:
    texts = [e.text for e in page.events if isinstance(e, ChatMessage)]
    return texts, [(item.seq, failure.reason) for item, failure in page.unreadable]


async def test_a_backlog_page_unwrapped_in_the_worker_process_reads_as_the_thread_path_when_some_items_fail() -> None:
    items = archive(BACKLOG_ITEMS + 20)
    (first, second), fetches = await read_two_pages(items, processes=1)
    assert first.items == BACKLOG_ITEMS and first.has_more and first.next_cursor == str(BACKLOG_ITEMS)
    texts, failures = outcome(first)
    assert failures[0] == (3, "unknown_key_version") and [seq for seq, _ in failures] == [3, 5]
    assert texts == [f"第{n}条" for n in range(1, BACKLOG_ITEMS + 1) if n not in (3, 5)]
    assert second.items == 20 and not second.has_more
    assert fetches == [0, BACKLOG_ITEMS]  # the second page was read ahead once, then handed over
    (thread_first, thread_second), _ = await read_two_pages(items, processes=0)
    assert outcome(thread_first) == outcome(first) and outcome(thread_second) == outcome(second)


async def test_the_worker_process_reports_a_key_it_cannot_read_instead_of_failing_the_page() -> None:
    pool = UnwrapPool(ArchiveKeys({1: KEY}).pems(), processes=2)
    good = sealed({"msgid": "a"})
    try:
        keys = await pool.unwrap([(1, good.encrypt_random_key), (1, "not base64!"), (7, good.encrypt_random_key)])
    finally:
        pool.close()
    assert keys is not None and isinstance(keys[0], bytes) and len(keys[0]) == 32
    assert isinstance(keys[1], str) and isinstance(keys[2], str) and "publickey_ver 7" in keys[2]


async def test_a_killed_worker_costs_one_in_process_page_and_is_started_again_for_the_next() -> None:
    pool = UnwrapPool(ArchiveKeys({1: KEY}).pems(), processes=1)
    wrapped = [(1, sealed({"msgid": "a"}).encrypt_random_key)]
    try:
        pool.start()
        [pid] = pool.pids
        os.kill(pid, signal.SIGKILL)
        assert await pool.unwrap(wrapped) is None  # the caller unwraps this page itself
        assert pool.pids == []
        again = await pool.unwrap(wrapped)
        assert again is not None and isinstance(again[0], bytes) and pool.pids != [pid]
    finally:
        pool.close()
