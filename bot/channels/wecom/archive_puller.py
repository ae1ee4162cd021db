"""The archive puller: from the saved seq, fetch ≤1000 items, decrypt them, store the messages and the new seq in
one transaction; driven by `msgaudit_notify` and by a fallback timer."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import failpoints
from bot.channels.wecom.archive import ArchiveItem, ArchiveKeys, ArchiveSource, ItemUnreadable, open_item
from bot.channels.wecom.archive_messages import to_events
from bot.dispatch import Context, Dispatcher, Features
from bot.events import Event
from bot.ingest import intake
from bot.metrics import Metrics
from services.clock import Clock
from services.customers.directory import ContactDirectory
from storage.repos import archive_failures, cursors

log = logging.getLogger("qunke.archive")

CURSOR: Final = "archive:seq"
MAX_PAGES_PER_PULL: Final = 100_000


@dataclass(frozen=True, slots=True)
class Opened:
    item: ArchiveItem
    message: dict[str, Any] | None
    failure: ItemUnreadable | None


class ArchivePuller:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: ArchiveSource,
        keys: ArchiveKeys,
        dispatcher: Dispatcher,
        directory: ContactDirectory,
        clock: Clock,
        metrics: Metrics,
        limit: int = 1000,
        decrypt_threads: int = 2,
        features: Features | None = None,
    ) -> None:
        self._features = features or Features()
        self._sessions, self._source, self._keys = sessions, source, keys
        self._dispatcher, self._directory = dispatcher, directory
        self._clock, self._metrics, self._limit = clock, metrics, limit
        # RSA releases the GIL, so unwrapping a page's keys on a small pool uses every core, off the event loop.
        self._threads = max(1, decrypt_threads)
        self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="archive-decrypt")
        self._lock = asyncio.Lock()

    @property
    def source(self) -> ArchiveSource:
        return self._source

    async def __call__(self, event: Event) -> None:
        await self.pull()

    async def pull(self) -> int:
        """Read until the source has nothing newer; returns how many items were read. A notify and the timer may
        fire together: one pull at a time."""
        total = 0
        async with self._lock:
            for _ in range(MAX_PAGES_PER_PULL):
                count = await self._page()
                total += count
                if count == 0 and await self._reset_if_ahead():
                    continue
                if count < self._limit:
                    break
        return total

    async def _reset_if_ahead(self) -> bool:
        """A saved seq the archive has never reached (the archive was reset, e.g. a fresh sandbox under an old
        database) would read nothing for ever. The item at our own seq must still be there: if fetching from just
        before it finds nothing, start again from the beginning; msgids already stored are recognised, so nothing
        doubles, and the new archive's messages (the ones that sent the notify) are not skipped."""
        async with self._sessions() as session:
            seq = int(await cursors.read(session, CURSOR) or 0)
            if seq <= 0 or await self._source.fetch(seq - 1, 1):
                return False
            log.warning(
                "archive seq %d is ahead of the archive (nothing at or after it): the archive was reset or "
                "replaced; reading it again from the start (stored messages are recognised by msgid)",
                seq,
            )
            self._metrics.cursor_resets.labels("archive").inc()
            await cursors.save(session, CURSOR, "0", self._clock.now())
            await session.commit()
        return True

    async def _page(self) -> int:
        async with self._sessions() as session:
            seq = int(await cursors.lock(session, CURSOR, self._clock.now()) or 0)
            items = await self._source.fetch(seq, self._limit)
            if not items:
                return 0
            opened = await self._open(items)
            now = self._clock.now()
            events = [e for o in opened if o.message is not None for e in to_events(o.message, now)]
            ctx = Context(session=session, clock=self._clock, directory=self._directory, features=self._features)
            handled = await intake.take(self._dispatcher, events, ctx)
            failures = [(o.item, o.failure) for o in opened if o.failure is not None]
            for _, failure in failures:
                self._metrics.pull_failures.labels("archive", failure.reason).inc()
            if failures:  # the pull moves past them, so say so: they are kept in archive_failures, not dropped
                reasons = sorted({f.reason for _, f in failures})
                log.warning(
                    "archive: %d of %d items unreadable (%s); kept in archive_failures",
                    len(failures),
                    len(items),
                    ", ".join(reasons),
                )
            await archive_failures.record(session, failures, now)
            await cursors.save(session, CURSOR, str(max(seq, *(i.seq for i in items))), now)
            failpoints.hit("archive.before_commit")  # crash tests: the page is written but not committed
            await session.commit()
        self._metrics.pulled.labels("archive", "new").inc(handled)
        self._metrics.pulled.labels("archive", "seen").inc(len(items) - handled)
        return len(items)

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
