"""The archive source: from the saved seq, fetch ≤1000 items and decrypt them into platform-free events; ingest's
page loop stores them with the new seq in one transaction (bot/ingest/pulls.py). Driven by `msgaudit_notify` and
by a fallback timer."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_ports import ChannelPage, PageRunner
from bot.channels.wecom.archive import ArchiveItem, ArchiveKeys, ArchiveSource, ItemUnreadable, open_item
from bot.channels.wecom.archive_messages import to_events
from bot.events import Event
from bot.metrics import Metrics

log = logging.getLogger("qunke.archive")

CURSOR: Final = "archive:seq"
MAX_PAGES_PER_PULL: Final = 100_000


@dataclass(frozen=True, slots=True)
class Opened:
    item: ArchiveItem
    message: dict[str, Any] | None
    failure: ItemUnreadable | None


class ArchivePuller:
    """`pull()`: the chat archive from its saved seq, through ingest's page loop; one pull at a time."""

    def __init__(
        self,
        source: ArchiveSource,
        keys: ArchiveKeys,
        metrics: Metrics,
        pages: PageRunner,
        limit: int = 1000,
        decrypt_threads: int = 2,
    ) -> None:
        self._source, self._pages = source, pages
        self._archive_pages = ArchivePages(source, keys, metrics, limit, decrypt_threads)
        self._lock = asyncio.Lock()

    @property
    def source(self) -> ArchiveSource:
        return self._source

    async def __call__(self, event: Event) -> None:
        await self.pull()

    async def pull(self) -> int:
        """Read until the source has nothing newer; returns how many items were read. A notify and the timer may
        fire together: one pull at a time."""
        async with self._lock:
            return await self._pages.run(self._archive_pages)

    def close(self) -> None:
        self._archive_pages.close()


class ArchivePages:
    """The archive after a seq: ≤ `limit` items per page, decrypted on a small thread pool, as platform-free events.
    Unreadable items come back with the page (kept in archive_failures); the pull moves past them."""

    channel: Final = "archive"
    cursor_name: Final = CURSOR
    failpoint: Final = "archive.before_commit"
    max_pages: Final = MAX_PAGES_PER_PULL
    commits_empty_pages: Final = False

    def __init__(self, source: ArchiveSource, keys: ArchiveKeys, metrics: Metrics, limit: int, threads: int) -> None:
        self._source, self._keys, self._metrics, self._limit = source, keys, metrics, limit
        # RSA releases the GIL, so unwrapping a page's keys on a small pool uses every core, off the event loop.
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="archive-decrypt")

    async def read_page(self, session: AsyncSession, cursor: str, now: datetime) -> ChannelPage:
        seq = int(cursor or 0)
        items = await self._source.fetch(seq, self._limit)
        if not items:
            ahead = await self._ahead_of_archive(seq)
            # After a reset, read again from the start: has_more, from seq 0.
            return ChannelPage(
                events=(), read_from=cursor, next_cursor="0" if ahead else cursor, has_more=ahead, items=0
            )
        opened = await self._open(items)
        events = [e for o in opened if o.message is not None for e in to_events(o.message, now)]
        failures = [(o.item, o.failure) for o in opened if o.failure is not None]
        self._note_failures(failures, len(items))
        return ChannelPage(
            events=events,
            read_from=cursor,
            next_cursor=str(max(seq, *(i.seq for i in items))),
            has_more=len(items) >= self._limit,
            items=len(items),
            unreadable=failures,
        )

    async def _ahead_of_archive(self, seq: int) -> bool:
        """A saved seq the archive has never reached (the archive was reset, e.g. a fresh sandbox under an old
        database) would read nothing for ever. The item at our own seq must still be there: if fetching from just
        before it finds nothing, start again from the beginning; msgids already stored are recognised, so nothing
        doubles, and the new archive's messages (the ones that sent the notify) are not skipped."""
        if seq <= 0 or await self._source.fetch(seq - 1, 1):
            return False
        log.warning(
            "archive seq %d is ahead of the archive (nothing at or after it): the archive was reset or "
            "replaced; reading it again from the start (stored messages are recognised by msgid)",
            seq,
        )
        self._metrics.cursor_resets.labels("archive").inc()
        return True

    def _note_failures(self, failures: list[tuple[ArchiveItem, ItemUnreadable]], read: int) -> None:
        """The pull moves past unreadable items, so say so: they are kept in archive_failures, not dropped."""
        for _, failure in failures:
            self._metrics.pull_failures.labels("archive", failure.reason).inc()
        if failures:
            reasons = sorted({f.reason for _, f in failures})
            log.warning(
                "archive: %d of %d items unreadable (%s); kept in archive_failures",
                len(failures),
                read,
                ", ".join(reasons),
            )

    async def _open(self, items: list[ArchiveItem]) -> list[Opened]:
        """Decrypt a page in one chunk per thread, keeping the items' order."""
        loop = asyncio.get_running_loop()
        size = -(-len(items) // self._threads)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results = await asyncio.gather(*(loop.run_in_executor(self._pool, self._open_chunk, c) for c in chunks))
        return [o for chunk in results for o in chunk]

    def _open_chunk(self, items: list[ArchiveItem]) -> list[Opened]:
        out: list[Opened] = []
        for item in items:
            try:
                out.append(Opened(item, open_item(self._source, self._keys, item), None))
            except ItemUnreadable as exc:
                out.append(Opened(item, None, exc))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
