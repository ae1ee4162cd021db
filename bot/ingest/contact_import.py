"""The import of every contact at start-up: externalcontact/batch/get_by_user over every member who may have
customers (WECOM.md §3.5), ≤100 members per call, page by page; each page commits with its position in `cursors`,
so a crash or an outage resumes where it stopped, and a repeated page changes nothing."""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
from datetime import datetime
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import failpoints
from bot.channel_ports import ApiError, ErrorClass
from bot.metrics import Metrics
from services.clock import Clock
from services.customers.contacts import apply_follows, fetch_unknown_members
from services.customers.directory import (
    ContactDirectory,
    ContactPage,
    ContactRoster,
    DirectoryUnavailable,
    ExternalContactInfo,
    TagInfo,
)
from storage.repos import cursors

log = logging.getLogger("qunke.contacts")

# The first userid of the member chunk being read ("" when no import is under way) and the page cursor within it.
MEMBER_CURSOR: Final = "contacts:import:member"
PAGE_CURSOR: Final = "contacts:import:cursor"
MEMBER_CHUNK: Final = 100  # batch/get_by_user takes at most 100 userids
PAGE_LIMIT: Final = 100
MAX_PAGES_PER_CHUNK: Final = 100_000


class ContactImporter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        roster: ContactRoster,
        directory: ContactDirectory,
        clock: Clock,
        metrics: Metrics,
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        self._sessions, self._roster, self._directory = sessions, roster, directory
        self._clock, self._metrics, self._limit = clock, metrics, page_limit
        self._lock = asyncio.Lock()

    async def run(self) -> int:
        """Import (or finish importing) every contact; returns how many (customer, member) pairs were stored."""
        async with self._lock:
            userids = sorted(set(await self._roster.list_follow_userids()))
            tags = await self._roster.corp_tags()
            async with self._sessions() as session:
                await fetch_unknown_members(session, self._directory, userids, self._clock.now())
                resume_at = await cursors.read(session, MEMBER_CURSOR)
                page_cursor = await cursors.read(session, PAGE_CURSOR)
                await session.commit()
            start = bisect.bisect_left(userids, resume_at) if resume_at else 0
            if resume_at:
                log.info("resuming the contact import at member %s (%d of %d)", resume_at, start, len(userids))
            if start >= len(userids) or userids[start] != resume_at:
                page_cursor = ""  # the chunk is not the one the cursor was issued for
            total = 0
            for first in range(start, len(userids), MEMBER_CHUNK):
                chunk = userids[first : first + MEMBER_CHUNK]
                following = userids[first + MEMBER_CHUNK] if first + MEMBER_CHUNK < len(userids) else ""
                total += await self._import_chunk(chunk, page_cursor if first == start else "", following, tags)
            if start >= len(userids):
                await self._save_position("", "")
            log.info("contact import done: %d contact relationships of %d members", total, len(userids))
            return total

    async def run_until_done(self, retry_s: float, stop: asyncio.Event) -> None:
        """Run, and after a failure try again (resuming from the saved position) until it succeeds or we stop."""
        while not stop.is_set():
            try:
                await self.run()
                return
            except (DirectoryUnavailable, ApiError, SQLAlchemyError) as exc:
                self._metrics.contact_import_failures.inc()
                log.warning("contact import interrupted (%s); resuming in %.0f s", exc, retry_s)
            try:
                await asyncio.wait_for(stop.wait(), retry_s)
            except TimeoutError:
                continue

    async def _import_chunk(self, chunk: list[str], cursor: str, following: str, tags: dict[str, TagInfo]) -> int:
        count = 0
        for _ in range(MAX_PAGES_PER_CHUNK):
            page = await self._page(chunk, cursor)
            now = self._clock.now()
            async with self._sessions() as session:
                # In external_userid order, as a group sync applies its customers: writers lock rows in one order.
                for info in sorted(page.contacts, key=lambda c: c.external_userid):
                    await apply_follows(session, _named(info, tags), now)
                if page.next_cursor:
                    await _save(session, chunk[0], page.next_cursor, now)
                else:
                    await _save(session, following, "", now)
                failpoints.hit("contacts.before_commit")  # crash tests: the page is written but not committed
                await session.commit()
            count += len(page.contacts)
            self._metrics.contacts_imported.inc(len(page.contacts))
            if not page.next_cursor:
                return count
            cursor = page.next_cursor
        log.error("contact import of members from %s stopped after %d pages", chunk[0], MAX_PAGES_PER_CHUNK)
        return count

    async def _page(self, chunk: list[str], cursor: str) -> ContactPage:
        try:
            return await self._roster.contacts_of_members(chunk, cursor, self._limit)
        except ApiError as exc:
            if not cursor or exc.error_class is not ErrorClass.PERMANENT:
                raise
        # A saved cursor WeCom no longer takes (e.g. issued before a restart): read this chunk again from its start.
        log.warning("batch/get_by_user refused the saved cursor for members from %s; re-reading them", chunk[0])
        self._metrics.cursor_resets.labels("contacts").inc()
        return await self._roster.contacts_of_members(chunk, "", self._limit)

    async def _save_position(self, member: str, cursor: str) -> None:
        async with self._sessions() as session:
            await _save(session, member, cursor, self._clock.now())
            await session.commit()


async def _save(session: AsyncSession, member: str, cursor: str, now: datetime) -> None:
    await cursors.save(session, MEMBER_CURSOR, member, now)
    await cursors.save(session, PAGE_CURSOR, cursor, now)


def _named(info: ExternalContactInfo, tags: dict[str, TagInfo]) -> ExternalContactInfo:
    """Give the follows' tag ids their names; ids the corp tag list does not have (deleted tags) are dropped."""
    follows = tuple(
        dataclasses.replace(f, tags=tuple(tags[t.tag_id] for t in f.tags if t.tag_id in tags)) for f in info.follows
    )
    return dataclasses.replace(info, follows=follows)
