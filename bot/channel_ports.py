"""The seams between `bot/channels` and `bot/ingest`, so that neither imports the other (DESIGN.md §3): what a
channel hands over (a page of platform-free events with its cursor, a decoder for its stored callbacks), what it is
handed (the inbox to store callbacks in, the page loop that stores and dispatches its pages), and the errors a
platform API answers with (ingest's directory reads catch them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Event
from storage.repos.archive_failures import FailedItem
from storage.repos.inbound import NewInbound


@dataclass(frozen=True, slots=True)
class ChannelPage:
    """One page a channel read after a cursor: its events, and where the next page starts."""

    events: Sequence[Event]
    read_from: str  # the cursor the page was read from (a channel may have restarted from an empty one)
    next_cursor: str  # saved with the page's messages, in the same transaction
    has_more: bool
    items: int  # the raw items the page held (what a pull reports as read)
    unreadable: Sequence[tuple[FailedItem, Exception]] = ()  # items kept for an operator (archive_failures)


class PageSource(Protocol):
    """A channel's "read the page after cursor C" (kf/sync_msg for one account, the chat archive from its seq)."""

    @property
    def channel(self) -> str:
        """The metrics label and log name: `kf`, `archive`."""
        ...

    @property
    def cursor_name(self) -> str: ...

    @property
    def failpoint(self) -> str:
        """Hit after a page is written, before its commit (crash tests)."""
        ...

    @property
    def max_pages(self) -> int:
        """A runaway has_more (a cursor that never advances) must not spin for ever inside one pull."""
        ...

    @property
    def commits_empty_pages(self) -> bool:
        """kf saves the cursor WeCom returns even for an empty page; the archive leaves an empty page alone."""
        ...

    async def read_page(self, session: AsyncSession, cursor: str, now: datetime) -> ChannelPage:
        """`session` is the page's unit of work, for lookups only (e.g. which customers are already named)."""
        ...


class PageRunner(Protocol):
    """bot/ingest's page loop: cursor lock → the source's page → intake (store + dispatch) → cursor save → commit,
    until the source has no more; returns how many items were read."""

    async def run(self, source: PageSource) -> int: ...


class ErrorClass(StrEnum):
    TOKEN = "token"  # the token was refused before the request was processed: refresh and repeat
    RATE_LIMIT = "rate_limit"  # 45009 / 45033: pause this API for everyone
    TRANSIENT = "transient"  # -1 system busy: retry with backoff
    PERMANENT = "permanent"  # anything else: retrying will not help


class ApiError(Exception):
    """The API answered with a non-zero errcode."""

    def __init__(self, path: str, errcode: int, errmsg: str, error_class: ErrorClass) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg[:200]}")
        self.path, self.errcode, self.errmsg, self.error_class = path, errcode, errmsg, error_class


class UndecodableEvent(Exception):
    """A stored callback can never be turned into an event (it does not parse); retrying would not help."""


# A channel's decoder for the inbox rows of its `source`: (payload, dedupe key, received at) → a platform-free event.
Decoder = Callable[[str, str, datetime], Event]


class EventEnricher(Protocol):
    """What a channel reads from its platform about a batch's decoded events before they are handled (the OA's
    user/info: a new follower's unionid). Called once per claimed batch, outside SQLite's write transaction;
    `session` is for lookups only. It handles its own failures: an event it could not complete stays as decoded."""

    async def enrich(self, session: AsyncSession, events: Sequence[Event | Exception]) -> list[Event | Exception]: ...


class DecoderRegistry(Protocol):
    def register(self, source: str, decoder: Decoder, kind: str | None = None) -> None: ...

    def add_enricher(self, enricher: EventEnricher) -> None: ...


class InboxClosed(Exception):
    """The bot is shutting down and takes no more callbacks; WeCom will retry."""


class InboxSlow(Exception):
    """The commit took longer than the platform waits for an answer: the callback gets a 503 and is retried."""


class CallbackInbox(Protocol):
    """The durable store-then-ack inbox (bot/ingest/inbox.py): `store()` returns once the row is committed, or
    raises InboxClosed or InboxSlow (answer 503) or the database's error."""

    async def store(self, row: NewInbound) -> bool: ...
