"""The running bot's matcher: rebuilt (off the event loop) whenever the KB's revision moved, so no restart is needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.kb import load_items
from services.faq.types import Decision, KbItem
from storage.repos import kb as kb_repo

log = logging.getLogger("qunke.faq")


class Deciding(Protocol):
    """What the engine needs of a matcher (services/faq/matcher.py's Matcher)."""

    async def adecide(self, text: str) -> Decision: ...


# Builds a matcher from the KB; the real one runs its index build in an executor (build_matcher_async).
MatcherBuilder = Callable[[Sequence[KbItem]], Awaitable[Deciding]]


class FaqEngine:
    """Holds the current matcher and the KB revision it was built from; one per process."""

    def __init__(self, build: MatcherBuilder) -> None:
        self._build = build
        self._matcher: Deciding | None = None
        self._revision: int | None = None
        self._lock = asyncio.Lock()

    @property
    def revision(self) -> int | None:
        """The KB revision the current matcher was built from (None before the first build)."""
        return self._revision

    async def refresh(self, session: AsyncSession) -> Deciding:
        """The matcher for the KB as it is now: one primary-key read, and a rebuild only when the revision moved."""
        current = await kb_repo.revision(session)
        if self._matcher is not None and current == self._revision:
            return self._matcher
        async with self._lock:  # one rebuild at a time; a waiter finds it done
            if self._matcher is None or current != self._revision:
                items = await load_items(session)
                self._matcher = await self._build(items)
                log.info("FAQ matcher built from KB revision %s (%d entries)", current, len(items))
                self._revision = current
            return self._matcher

    async def decide(self, session: AsyncSession, text: str) -> Decision:
        matcher = await self.refresh(session)
        return await matcher.adecide(text)
