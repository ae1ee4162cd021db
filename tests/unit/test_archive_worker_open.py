"""A backlog page opened whole in the worker process (symmetric step and JSON there, not on the bot's loop): the same
messages and failure reasons as the in-process path, through the sandbox's scheme and the Finance SDK's library, and
a dead worker costs one in-process page, counted."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from bot.channels.wecom.archive import ArchiveItem, ArchiveKeys, ItemUnreadable
from bot.channels.wecom.archive_open import FINANCE_SDK, SANDBOX_AES
from bot.channels.wecom.archive_pages import BACKLOG_ITEMS, ArchivePages
from bot.channels.wecom.unwrap_pool import UnwrapPool
from bot.events import ChatMessage
from bot.metrics import Metrics
from tests.unit.test_archive_source import KEY, fake_sdk, sealed  # noqa: F401  (fake_sdk: a fixture)
from tests.unit.test_archive_unwrap_pool import NOW, MemoryArchive, archive


def unreadable(answer: object) -> str:
    assert isinstance(answer, ItemUnreadable), answer
    return answer.reason


async def test_the_worker_opens_items_with_the_sandbox_scheme_and_names_why_one_cannot_be_read() -> None:
    good = sealed({"msgid": "a", "text": {"content": "你好"}})
    not_json = sealed({"msgid": "b"})
    pool = UnwrapPool(ArchiveKeys({1: KEY}).pems(), processes=1, opener={"scheme": SANDBOX_AES})
    try:
        answers = await pool.open(
            [
                (1, good.encrypt_random_key, good.encrypt_chat_msg),
                (1, good.encrypt_random_key, "not base64!"),
                (1, "not base64!", good.encrypt_chat_msg),
                (7, good.encrypt_random_key, good.encrypt_chat_msg),
                (1, not_json.encrypt_random_key, not_json.encrypt_chat_msg[:-24]),  # a block short: bad padding
            ]
        )
    finally:
        pool.close()
    assert answers is not None and answers[0] == {"msgid": "a", "text": {"content": "你好"}}
    assert [unreadable(a) for a in answers[1:]] == [
        "decrypt_failed",
        "key_decrypt_failed",
        "unknown_key_version",
        "decrypt_failed",
    ]


async def test_the_worker_opens_items_through_the_finance_sdk_library_the_source_names(fake_sdk: Path) -> None:  # noqa: F811
    item = sealed({"msgid": "a"})
    opener = {"scheme": FINANCE_SDK, "library": str(fake_sdk)}
    pool = UnwrapPool(ArchiveKeys({1: KEY}).pems(), processes=1, opener=opener)
    try:
        answers = await pool.open([(1, item.encrypt_random_key, "C1"), (1, item.encrypt_random_key, "BROKEN")])
    finally:
        pool.close()
    assert answers is not None
    first = answers[0]
    assert isinstance(first, dict) and first["msg"] == "C1" and len(first["key"]) == 32  # the unwrapped key
    assert unreadable(answers[1]) == "decrypt_failed"
    assert json.dumps(first)  # a plain message, as the in-process path parses it


async def test_a_killed_worker_costs_one_page_opened_in_process_and_is_counted() -> None:
    items: list[ArchiveItem] = archive(BACKLOG_ITEMS * 2)
    metrics = Metrics()
    pages = ArchivePages(
        MemoryArchive(items), ArchiveKeys({1: KEY}), metrics, BACKLOG_ITEMS, threads=2, processes=1, open_in_worker=True
    )
    pages.read_ahead = False
    try:
        pages.start_unwrap_processes()
        assert pages._unwraps is not None
        [pid] = pages._unwraps.pids
        os.kill(pid, signal.SIGKILL)
        first = await pages.read_page(None, "0", NOW)  # type: ignore[arg-type]  # the archive reads no session
        assert metrics.unwrap_process_failures._value.get() == 1
        second = await pages.read_page(None, first.next_cursor, NOW)  # type: ignore[arg-type]
        assert pages._unwraps.pids and pages._unwraps.pids != [pid]  # a fresh worker opened the second page
    finally:
        pages.close()
    texts = [e.text for page in (first, second) for e in page.events if isinstance(e, ChatMessage)]
    assert texts == [f"第{n}条" for n in range(1, 2 * BACKLOG_ITEMS + 1) if n not in (3, 5)]
    assert [i.seq for i, _ in first.unreadable] == [3, 5]  # 5: the wrong key (PKCS#1 v1.5 may "unwrap" it to noise)
    assert metrics.unwrap_process_failures._value.get() == 1
