"""The page loop every puller runs: cursor lock → the channel's page → intake (store + dispatch) → cursor save →
commit, page after page. Channels only read pages (bot/channel_ports.py); the loop owns the unit of work."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import failpoints
from bot.channel_ports import ChannelPage, PageSource
from bot.dispatch import Context, Dispatcher, Features
from bot.ingest import intake
from bot.metrics import Metrics
from services.clock import Clock
from services.customers.directory import ContactDirectory
from storage.repos import archive_failures, cursors


class PageLoop:
    """Each page commits with its cursor: a crash mid-pull resumes from the last committed page, and intake's
    msgid dedupe makes a replayed page answer nothing twice."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        directory: ContactDirectory,
        clock: Clock,
        metrics: Metrics,
        features: Features,
    ) -> None:
        self._sessions, self._dispatcher, self._directory = sessions, dispatcher, directory
        self._clock, self._metrics, self._features = clock, metrics, features

    async def run(self, source: PageSource) -> int:
        """Read every waiting page; returns how many items were read. Raises (and keeps the cursor) on failure."""
        total = 0
        for _ in range(source.max_pages):
            page = await self._page(source)
            total += page.items
            if not page.has_more or (page.next_cursor == page.read_from and not page.items):
                return total
        logging.getLogger(f"qunke.{source.channel}").error(
            "%s pull of %s stopped after %d pages; the next trigger resumes it",
            source.channel,
            source.cursor_name,
            source.max_pages,
        )
        return total

    async def _page(self, source: PageSource) -> ChannelPage:
        async with self._sessions() as session:
            now = self._clock.now()
            cursor = await cursors.lock(session, source.cursor_name, now)
            page = await source.read_page(session, cursor, now)
            if not page.items and not source.commits_empty_pages:
                if page.next_cursor != cursor:  # the source restarted its cursor (an archive reset): keep that
                    await cursors.save(session, source.cursor_name, page.next_cursor, now)
                    await session.commit()
                return page
            ctx = Context(session=session, clock=self._clock, directory=self._directory, features=self._features)
            handled = await intake.take(self._dispatcher, page.events, ctx)
            if page.unreadable:
                await archive_failures.record(session, page.unreadable, now)
            await cursors.save(session, source.cursor_name, page.next_cursor, self._clock.now())
            failpoints.hit(source.failpoint)  # crash tests: the page is written but not committed
            await session.commit()
        self._metrics.pulled.labels(source.channel, "new").inc(handled)
        self._metrics.pulled.labels(source.channel, "seen").inc(len(page.events) - handled)
        return page
