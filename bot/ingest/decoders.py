"""The decoder registry: each channel registers how its stored callbacks become events, so ingest names none."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_ports import Decoder, EventEnricher, UndecodableEvent
from bot.events import Event, FaqQuestionQueued, GroupResync, Unrecognized
from services.customers.lifecycle import INTERNAL_SOURCE, RESYNC_KIND
from services.faq.jobs import FAQ_QUESTION_KIND, message_key_of
from storage.models.inbox import InboundEvent

log = logging.getLogger("qunke.ingest")


class PermanentFailure(Exception):
    """The stored event can never be processed (it does not parse); retrying would not help."""


def _group_resync(payload: str, dedupe_key: str, received_at: datetime) -> Event:
    return GroupResync(received_at, dedupe_key, str(json.loads(payload)["chat_id"]))


def _faq_question(payload: str, dedupe_key: str, received_at: datetime) -> Event:
    return FaqQuestionQueued(received_at, dedupe_key, message_key_of(payload))


class Decoders:
    """By inbox `source` (and, where one source has several kinds, `kind`). The bot's own jobs (`source = qunke`)
    are registered here; channels register theirs at setup, before the worker takes its first row."""

    def __init__(self) -> None:
        self._by_source: dict[str, Decoder] = {}
        self._by_kind: dict[tuple[str, str], Decoder] = {}
        self._enrichers: list[EventEnricher] = []
        self.register(INTERNAL_SOURCE, _group_resync, kind=RESYNC_KIND)
        self.register(INTERNAL_SOURCE, _faq_question, kind=FAQ_QUESTION_KIND)

    def register(self, source: str, decoder: Decoder, kind: str | None = None) -> None:
        key_taken = (source, kind) in self._by_kind if kind is not None else source in self._by_source
        if key_taken:
            raise ValueError(f"a decoder for inbox source {source!r} (kind {kind!r}) is registered already")
        if kind is None:
            self._by_source[source] = decoder
        else:
            self._by_kind[(source, kind)] = decoder

    def add_enricher(self, enricher: EventEnricher) -> None:
        self._enrichers.append(enricher)

    async def enrich(self, session: AsyncSession, events: list[Event | Exception]) -> list[Event | Exception]:
        """A batch's events as its channels completed them; an enricher that breaks leaves them as decoded (the
        events are still handled: what it would have added is a refinement, not the message)."""
        for enricher in self._enrichers:
            try:
                events = await enricher.enrich(session, events)
            except Exception:
                log.exception("%s failed; the batch's events are handled as decoded", type(enricher).__name__)
        return events

    def decode(self, row: InboundEvent) -> Event:
        """The row's event; `Unrecognized` when no decoder is registered for it (marked done as unhandled)."""
        decoder = self._by_kind.get((row.source, row.kind)) or self._by_source.get(row.source)
        if decoder is None:
            return Unrecognized(row.received_at, row.dedupe_key, f"{row.source}:{row.kind}")
        try:
            return decoder(row.payload, row.dedupe_key, row.received_at)
        except UndecodableEvent as exc:
            raise PermanentFailure(str(exc)) from exc
