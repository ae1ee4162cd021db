"""A page of new chat messages seen at once: the facts every watcher would query per message, loaded once per page,
and the rows watchers would insert per message, written once per page.

Only non-message events (a recall, a kf session's end, a group or customer change) can change these facts in the
middle of a page, so intake calls `forget()` after each one and the next lookup reloads: the watchers see exactly
what they would have queried one message at a time. Likewise intake flushes the page's batches before each such
event and at the page's end; a batch whose rows a later message could read flushes itself first (`WaitBatch`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.service.waits import WaitBatch, owner_for
from storage.models.messages import Message
from storage.repos import messages, page_reads
from storage.repos.waits import tag_names

if TYPE_CHECKING:
    from bot.dispatch import Context


class PageBatch(Protocol):
    """Rows a feature writes for a page of messages in one statement (services.service.waits.WaitBatch,
    services.faq.jobs.QuestionBatch)."""

    def __init__(self) -> None: ...

    async def flush(self, session: AsyncSession) -> None: ...


B = TypeVar("B", bound=PageBatch)


class Page:
    def __init__(self, session: AsyncSession, source_keys: Collection[str]) -> None:
        self._session = session
        self._keys = list(source_keys)
        self._key_set = set(self._keys)
        self._batches: dict[type[PageBatch], PageBatch] = {}
        self.forget()

    def batch(self, kind: type[B]) -> B:
        """The page's one batch of this kind, flushed by intake before each non-message event and at the end."""
        found = self._batches.get(kind)
        if found is None:
            found = self._batches[kind] = kind()
        return cast(B, found)

    async def flush(self) -> None:
        """Write every batch, in the order the page first used them."""
        for batch in self._batches.values():
            await batch.flush(self._session)

    def forget(self) -> None:
        """Drop what was loaded: an event other than a message may have changed it."""
        self._stored: dict[str, Message] | None = None
        self._pending_survey: set[int] | None = None
        self._tags: dict[int, set[str]] | None = None
        self._group_owners: dict[str, str | None] | None = None
        self._open_wait_chats: tuple[set[str], set[str]] | None = None  # (chats asked about, those with waits)

    async def stored(self, source_key: str) -> Message | None:
        if source_key not in self._key_set:  # not one of this page's messages: ask as before
            return await messages.by_source_key(self._session, source_key)
        return (await self._by_key()).get(source_key)

    async def _by_key(self) -> dict[str, Message]:
        if self._stored is None:
            self._stored = await page_reads.messages_by_source_keys(self._session, self._keys)
        return self._stored

    async def _rows(self) -> list[Message]:
        return list((await self._by_key()).values())

    async def _customer_ids(self) -> set[int]:
        return {m.customer_id for m in await self._rows() if m.customer_id is not None}

    async def may_have_pending_survey(self, customer_id: int, now: datetime) -> bool:
        """False only when the customer had no pending survey when the page was loaded (none can open since)."""
        if self._pending_survey is None:
            self._pending_survey = await page_reads.customers_with_pending_survey(
                self._session, await self._customer_ids(), now
            )
        return customer_id in self._pending_survey

    async def tag_names(self, customer_id: int) -> set[str]:
        if self._tags is None:
            self._tags = await page_reads.tag_names_of(self._session, await self._customer_ids())
        known = self._tags.get(customer_id)
        if known is None:  # a customer none of the page's stored rows name: ask as before
            return await tag_names(self._session, customer_id)
        return set(known)

    async def may_have_open_waits(self, chat_id: str) -> bool:
        """False only when nobody waited in the chat when the page was loaded and the page opened no wait there
        (closing waits only makes the answer more conservative)."""
        wait_batch = self._batches.get(WaitBatch)
        if isinstance(wait_batch, WaitBatch) and chat_id in wait_batch.touched:
            return True
        if self._open_wait_chats is None:
            chats = {m.chat_id for m in await self._rows()} | {chat_id}
            self._open_wait_chats = (chats, await page_reads.chats_with_open_waits(self._session, chats))
        asked, open_chats = self._open_wait_chats
        return chat_id not in asked or chat_id in open_chats  # a chat outside the page: let the caller query

    async def owner(self, chat_type: str, chat_id: str, customer_id: int) -> str | None:
        if chat_type != "group":
            return await owner_for(self._session, chat_type, chat_id, customer_id)
        if self._group_owners is None:
            chats = {m.chat_id for m in await self._rows() if m.chat_type == "group"} | {chat_id}
            owners = await page_reads.group_owners(self._session, chats)
            self._group_owners = {chat: owners.get(chat) for chat in chats}  # no row or no owner: nobody
        if chat_id not in self._group_owners:
            return await owner_for(self._session, chat_type, chat_id, customer_id)
        return self._group_owners[chat_id]


async def stored_message(ctx: Context, source_key: str) -> Message | None:
    """The stored row of a message: from the page when intake gave one, else one query."""
    if ctx.page is not None:
        return await ctx.page.stored(source_key)
    return await messages.by_source_key(ctx.session, source_key)
