"""Timing of the ingest worker's stages (qunke_ingest_stage_seconds): where an event's time goes under load."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Histogram

from services.customers.directory import ContactDirectory, ExternalContactInfo, GroupChatInfo, MemberInfo


@contextmanager
def timed(histogram: Histogram, stage: str) -> Iterator[None]:
    """Observe the wall time of the block under `stage`, whether it returns or raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(stage).observe(time.perf_counter() - started)


class TimedDirectory:
    """A ContactDirectory observing each contact or group re-read as stage "reread": the WeCom round trip a change
    event makes, told apart from the handler's own database work and lock waits."""

    def __init__(self, directory: ContactDirectory, histogram: Histogram) -> None:
        self._directory, self._histogram = directory, histogram

    async def get_external_contact(self, external_userid: str) -> ExternalContactInfo | None:
        with timed(self._histogram, "reread"):
            return await self._directory.get_external_contact(external_userid)

    async def get_group_chat(self, chat_id: str) -> GroupChatInfo | None:
        with timed(self._histogram, "reread"):
            return await self._directory.get_group_chat(chat_id)

    async def get_member(self, userid: str) -> MemberInfo | None:
        with timed(self._histogram, "reread"):
            return await self._directory.get_member(userid)

    async def list_group_chat_ids(self) -> list[str]:
        return await self._directory.list_group_chat_ids()
