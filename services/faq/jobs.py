"""FAQ work as Qunke's own inbox jobs: a pull's page only queues its questions, each is decided in its own unit of work.

Deciding and acting on a question takes several queries; inside an archive page of 1,000 messages that would hold
the page's transaction (and SQLite's write lock) for seconds. A job per question keeps the page short, and the
inbox gives it the same retries and crash safety as any callback.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.lifecycle import INTERNAL_SOURCE
from storage.repos import inbound

FAQ_QUESTION_KIND: Final = "faq_question"


async def queue_question(session: AsyncSession, message_key: str, now: datetime) -> None:
    """Queue the stored message with this source key for the FAQ, once (a replayed page queues nothing new)."""
    await inbound.insert_many_if_new(session, [_job(message_key, now)])


class QuestionBatch:
    """The FAQ jobs of a page of messages, queued in one statement when the page is flushed, in message order.
    Nothing reads the jobs before the page commits (the ingest worker decides them afterwards)."""

    def __init__(self) -> None:
        self._rows: dict[str, inbound.NewInbound] = {}

    def add(self, message_key: str, now: datetime) -> None:
        row = _job(message_key, now)
        self._rows.setdefault(row.dedupe_key, row)

    async def flush(self, session: AsyncSession) -> None:
        if self._rows:
            await inbound.insert_many_if_new(session, list(self._rows.values()))
            self._rows.clear()


def _job(message_key: str, now: datetime) -> inbound.NewInbound:
    return inbound.NewInbound(
        dedupe_key=f"faq:{message_key}"[:160],
        source=INTERNAL_SOURCE,
        kind=FAQ_QUESTION_KIND,
        payload=json.dumps({"message_key": message_key}),
        received_at=now,
    )


def message_key_of(payload: str) -> str:
    return str(json.loads(payload)["message_key"])
