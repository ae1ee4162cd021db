"""A batch's directory re-reads, made before its transaction opens: each id once, several at a time.

On SQLite the batch's transaction holds the one write lock the webhook's inbox writer needs for every ack, so a
contact or group change must not wait on WeCom inside it. The worker reads every contact and group its batch
names first (after the rows are claimed, so after their callbacks arrived: the read is as fresh as the handler's
own would be), and the handlers get those answers from this directory. A failed read is kept and raised to the
handler that asks, which fails and retries as it would have. Anything not read ahead (a group's unknown members'
profiles, members) goes to the real directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeVar

from bot.events import (
    CustomerAdded,
    CustomerDeletedByMember,
    CustomerEdited,
    CustomerTransferFailed,
    Event,
    GroupCreated,
    GroupDismissed,
    GroupResync,
    GroupUpdated,
    MemberDeletedByCustomer,
)
from services.customers.directory import ContactDirectory, ExternalContactInfo, GroupChatInfo, MemberInfo

# Reads in flight at once: WeCom caps parallel reads of one API (45033, no documented number); the sender's own
# read cap (sender.read_concurrency) is 8.
MAX_CONCURRENT_READS: Final = 8

_CONTACT_EVENTS: Final = (
    CustomerAdded,
    CustomerEdited,
    CustomerDeletedByMember,
    MemberDeletedByCustomer,
    CustomerTransferFailed,
)
_GROUP_EVENTS: Final = (GroupCreated, GroupDismissed, GroupResync, GroupUpdated)

T = TypeVar("T")


def groups_named(events: Iterable[Event | Exception]) -> list[str]:
    """The customer groups a batch's events re-read, sorted: the order PostgreSQL's per-group locks are taken in."""
    return sorted({e.chat_id for e in events if isinstance(e, _GROUP_EVENTS)})


class PrefetchedDirectory:
    """A ContactDirectory answering the batch's re-reads from what was read ahead."""

    def __init__(self, directory: ContactDirectory) -> None:
        self._directory = directory
        self._contacts: dict[str, ExternalContactInfo | BaseException | None] = {}
        self._groups: dict[str, GroupChatInfo | BaseException | None] = {}
        self.reads = 0

    async def read_ahead(self, events: list[Event | Exception]) -> None:
        contacts = {e.external_userid for e in events if isinstance(e, _CONTACT_EVENTS)}
        groups = groups_named(events)
        gate = asyncio.Semaphore(MAX_CONCURRENT_READS)

        async def read(call: Callable[[], Awaitable[T]]) -> T | BaseException:
            async with gate:
                try:
                    return await call()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    return exc

        async def contact(external_userid: str) -> None:
            self._contacts[external_userid] = await read(lambda: self._directory.get_external_contact(external_userid))

        async def group(chat_id: str) -> None:
            self._groups[chat_id] = await read(lambda: self._directory.get_group_chat(chat_id))

        await asyncio.gather(*(contact(i) for i in contacts), *(group(i) for i in groups))
        self.reads = len(contacts) + len(groups)

    async def get_external_contact(self, external_userid: str) -> ExternalContactInfo | None:
        if external_userid not in self._contacts:
            return await self._directory.get_external_contact(external_userid)
        found = self._contacts[external_userid]
        if isinstance(found, BaseException):
            raise found
        return found

    async def get_group_chat(self, chat_id: str) -> GroupChatInfo | None:
        if chat_id not in self._groups:
            return await self._directory.get_group_chat(chat_id)
        found = self._groups[chat_id]
        if isinstance(found, BaseException):
            raise found
        return found

    async def get_member(self, userid: str) -> MemberInfo | None:
        return await self._directory.get_member(userid)

    async def list_group_chat_ids(self) -> list[str]:
        return await self._directory.list_group_chat_ids()
