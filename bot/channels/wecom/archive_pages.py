"""The chat archive as pages for ingest's page loop: fetched, opened (RSA unwraps in a worker process for a
backlog, the symmetric step on a small thread pool) and turned into platform-free events, pages read ahead."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_ports import ChannelPage
from bot.channels.wecom.archive import (
    ArchiveItem,
    ArchiveKeys,
    ArchiveSource,
    ItemUnreadable,
    open_item,
    open_unwrapped,
)
from bot.channels.wecom.archive_messages import to_events
from bot.channels.wecom.read_ahead import ReadAhead
from bot.channels.wecom.unwrap_pool import Unwrapped, UnwrapPool
from bot.metrics import Metrics

log = logging.getLogger("qunke.archive")

CURSOR: Final = "archive:seq"
MAX_PAGES_PER_PULL: Final = 100_000
# A page this long is a backlog: its RSA unwraps go to the worker process (whose start costs ~0.5 s); a few new
# messages after a notify are unwrapped on the thread pool, as before.
BACKLOG_ITEMS: Final = 100
# Pages read ahead of the one being stored: two keep the worker busy while the loop stores a page that takes longer
# than usual (with one, each half waits whenever its page is the slower one); each is ≤ `limit` items in memory.
READ_AHEAD_PAGES: Final = 2


@dataclass(frozen=True, slots=True)
class Opened:
    item: ArchiveItem
    message: dict[str, Any] | None
    failure: ItemUnreadable | None


class ArchivePages:
    """The archive after a seq: ≤ `limit` items per page, decrypted on a small thread pool, as platform-free events.
    Unreadable items come back with the page (kept in archive_failures); the pull moves past them."""

    channel: Final = "archive"
    cursor_name: Final = CURSOR
    failpoint: Final = "archive.before_commit"
    max_pages: Final = MAX_PAGES_PER_PULL
    commits_empty_pages: Final = False

    def __init__(
        self,
        source: ArchiveSource,
        keys: ArchiveKeys,
        metrics: Metrics,
        limit: int,
        threads: int,
        processes: int,
        ahead_pages: int = READ_AHEAD_PAGES,
        open_in_worker: bool = False,
    ) -> None:
        self._source, self._keys, self._metrics, self._limit = source, keys, metrics, limit
        # The symmetric step (and small pages' unwraps) on a small thread pool, off the event loop.
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="archive-decrypt")
        opener = source.worker_opener() if open_in_worker else None
        self._unwraps = UnwrapPool(keys.pems(), processes, opener) if processes > 0 else None
        self.read_ahead = True
        # While page N is stored on the loop, pages N+1 and N+2 are fetched and opened: a bounded number ahead, each
        # used only when the locked cursor is exactly where it was read from (bot/channels/wecom/read_ahead.py).
        # A page counts as read once fetched (its last seq names the next), its opening goes on as a task: so the
        # next fetch, and its keys' turn in the unwrap process, need not wait for the loop to see this page opened.
        self._ahead = ReadAhead(self._read, self._after, ahead_pages)
        self._openings: set[asyncio.Future[list[Opened]]] = set()

    async def read_page(self, session: AsyncSession, cursor: str, now: datetime) -> ChannelPage:
        seq = int(cursor or 0)
        items, opening = await self._ahead.read(seq) if self.read_ahead else await self._read(seq)
        try:
            opened = await opening
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # opened ahead, outside this page's unit of work: open it again here
            log.info(
                "opening archive items from %d ahead failed (%s: %s); opening them again", seq, type(exc).__name__, exc
            )
            opened = await self._open(items)
        if not items:
            ahead = await self._ahead_of_archive(seq)
            # After a reset, read again from the start: has_more, from seq 0.
            return ChannelPage(
                events=(), read_from=cursor, next_cursor="0" if ahead else cursor, has_more=ahead, items=0
            )
        events = [e for o in opened if o.message is not None for e in to_events(o.message, now)]
        failures = [(o.item, o.failure) for o in opened if o.failure is not None]
        self._note_failures(failures, len(items))
        return ChannelPage(
            events=events,
            read_from=cursor,
            next_cursor=str(self._next_seq(seq, items)),
            has_more=len(items) >= self._limit,
            items=len(items),
            unreadable=failures,
        )

    @staticmethod
    def _next_seq(seq: int, items: list[ArchiveItem]) -> int:
        return max(seq, *(i.seq for i in items))

    async def _read(self, seq: int) -> Fetched:
        """The page's items and the task opening them (started at once: in the unwrap process for a backlog)."""
        items = await self._source.fetch(seq, self._limit)
        opening = asyncio.ensure_future(self._open(items))
        self._openings.add(opening)
        opening.add_done_callback(self._openings.discard)
        opening.add_done_callback(_consume)
        return items, opening

    def _after(self, seq: int, page: Fetched) -> int | None:
        """A full page: more is likely waiting after it, so read that ahead."""
        items = page[0]
        return self._next_seq(seq, items) if len(items) >= self._limit else None

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
        """A backlog page is opened whole in the worker process when the source names how (the loop's process then
        only parses the answer), else its keys are unwrapped there first; the rest is decrypted in one chunk per
        thread, keeping the items' order."""
        if not items:
            return []
        backlog = self._unwraps is not None and len(items) >= BACKLOG_ITEMS
        if backlog and self._unwraps is not None and self._unwraps.opens_items:
            opened = await self._open_in_process(items)
            if opened is not None:
                return opened
            backlog = False  # the worker died: this page on the threads, keys and all
        keys = await self._unwrap_in_process(items) if backlog else None
        loop = asyncio.get_running_loop()
        size = -(-len(items) // self._threads)
        starts = range(0, len(items), size)
        results = await asyncio.gather(
            *(
                loop.run_in_executor(self._pool, self._open_chunk, items[i : i + size], keys and keys[i : i + size])
                for i in starts
            )
        )
        return [o for chunk in results for o in chunk]

    async def _open_in_process(self, items: list[ArchiveItem]) -> list[Opened] | None:
        """The page's items opened in the worker process (unknown key versions are not sent), or None when it
        died."""
        known = [self._keys.has(item) for item in items]
        pairs = zip(items, known, strict=True)
        sealed = [(i.publickey_ver, i.encrypt_random_key, i.encrypt_chat_msg) for i, ok in pairs if ok]
        assert self._unwraps is not None
        answers = await self._unwraps.open(sealed) if sealed else []
        if answers is None:  # the pool logged why
            self._metrics.unwrap_process_failures.inc()
            return None
        each = iter(answers)
        out = []
        for item, ok in zip(items, known, strict=True):
            answer = next(each) if ok else _unknown_version(item)
            out.append(Opened(item, answer, None) if isinstance(answer, dict) else Opened(item, None, answer))
        return out

    async def _unwrap_in_process(self, items: list[ArchiveItem]) -> list[Unwrapped | None] | None:
        """Each item's plain key (None: its version is not configured), or None when the process pool broke."""
        known = [self._keys.has(item) for item in items]
        wrapped = [(i.publickey_ver, i.encrypt_random_key) for i, ok in zip(items, known, strict=True) if ok]
        assert self._unwraps is not None
        unwrapped = await self._unwraps.unwrap(wrapped) if wrapped else []
        if unwrapped is None:  # the pool logged why
            self._metrics.unwrap_process_failures.inc()
            return None
        keys = iter(unwrapped)
        return [next(keys) if ok else None for ok in known]

    def _open_chunk(self, items: list[ArchiveItem], keys: list[Unwrapped | None] | None) -> list[Opened]:
        out: list[Opened] = []
        for n, item in enumerate(items):
            try:
                message = open_item(self._source, self._keys, item) if keys is None else self._opened(item, keys[n])
                out.append(Opened(item, message, None))
            except ItemUnreadable as exc:
                out.append(Opened(item, None, exc))
        return out

    def _opened(self, item: ArchiveItem, key: Unwrapped | None) -> dict[str, Any]:
        if key is None:
            raise ItemUnreadable("unknown_key_version", f"publickey_ver {item.publickey_ver}")
        if isinstance(key, str):
            raise ItemUnreadable("key_decrypt_failed", key)
        return open_unwrapped(self._source, key, item)

    def start_unwrap_processes(self) -> None:
        if self._unwraps is not None:
            self._unwraps.start()

    def close(self) -> None:
        self._ahead.close()
        for opening in list(self._openings):  # pages dropped or never taken: their results are not wanted
            opening.cancel()
        if self._unwraps is not None:
            self._unwraps.close()
        self._pool.shutdown(wait=True, cancel_futures=True)


Fetched = tuple[list[ArchiveItem], "asyncio.Future[list[Opened]]"]


def _consume(opening: asyncio.Future[list[Opened]]) -> None:
    """A dropped page's opening may fail unseen: its error is read here (read_page opens a taken page again)."""
    if not opening.cancelled():
        opening.exception()


def _unknown_version(item: ArchiveItem) -> ItemUnreadable:
    return ItemUnreadable("unknown_key_version", f"publickey_ver {item.publickey_ver}")
