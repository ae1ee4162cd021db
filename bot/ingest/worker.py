"""The ingest worker: drains `inbound_events` into the Dispatcher, a batch per transaction and a savepoint per event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.platform import IngestSettings
from bot.dispatch import Context, Dispatcher, Features
from bot.events import Event
from bot.failure_streak import FailureStreak
from bot.ingest import intake
from bot.ingest.batch import BatchTransaction, Failure, lock_conflict
from bot.ingest.decoders import Decoders, PermanentFailure
from bot.ingest.prefetch import PrefetchedDirectory
from bot.ingest.stage_timing import TimedDirectory, timed
from bot.metrics import Metrics
from services.clock import Clock
from services.customers.directory import ContactDirectory
from storage.db import dialect_of
from storage.models.inbox import InboundEvent
from storage.repos import inbound

log = logging.getLogger("qunke.ingest")

# During a burst of callbacks the worker steps aside so acks stay fast (WeCom waits 5 s, then retries), but never
# for longer than this per batch, so processing cannot starve under sustained load.
MAX_YIELD_S: Final = 0.5
YIELD_STEP_S: Final = 0.01
MAX_FAILURE_BACKOFF_S: Final = 15.0
# PostgreSQL: a batch ends after PG_BATCH_S, and the rows it claimed but did not reach are released unprocessed;
# each claimed row is a tuple lock written (and WAL-logged) and skipped by every other loop meanwhile. Claims are
# sized to twice what the last batch got through, between this floor and `ingest.batch_size`.
MIN_PG_CLAIM: Final = 4


# A puller reads a channel (kf/sync_msg, the archive) through the page loop (bot/ingest/pulls.py), in page-sized
# transactions of its own, outside the trigger's.
Puller = Callable[[Event], Awaitable[None]]


class IngestWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        directory: ContactDirectory,
        clock: Clock,
        settings: IngestSettings,
        metrics: Metrics,
        features: Features,
        decoders: Decoders,
        acks_pending: Callable[[], bool] = lambda: False,
        acks_piling: Callable[[], bool] = lambda: False,
        pullers: Mapping[type[Event], Puller] | None = None,
    ) -> None:
        self._stages = metrics.ingest_stage_seconds
        self._sessions, self._dispatcher = sessions, dispatcher
        self._directory: ContactDirectory = TimedDirectory(directory, self._stages)
        self._features, self._decoders = features, decoders
        self._pullers = dict(pullers or {})
        self._acks_pending, self._acks_piling = acks_pending, acks_piling
        self._clock, self._settings, self._metrics = clock, settings, metrics
        self._wakes = [asyncio.Event()]
        self._stopping = False
        self.streak = FailureStreak(log, "ingest cycle", recovered="database reachable again")
        self._unhandled_seen: set[str] = set()
        self._claim_size = settings.batch_size

    def wake(self) -> None:
        """Called after each inbox commit so new events are processed at once, not at the next poll."""
        for wake in self._wakes:
            wake.set()

    def stop(self) -> None:
        """Finish the event in hand and return from `run()`: cancelling mid-transaction would strand a connection."""
        self._stopping = True
        self.wake()

    def _loops(self) -> int:
        bind = self._sessions.kw.get("bind")
        postgres = getattr(getattr(bind, "dialect", None), "name", "") == "postgresql"
        return self._settings.concurrency if postgres else 1

    async def run(self) -> None:
        """`ingest.concurrency` claim loops on PostgreSQL, one on SQLite. Each event is handled in its own claiming
        transaction under a row lock, so loops share the inbox exactly as separate processes do; a handler waits
        on the network (a re-read, a pull) or a durable commit far longer than it computes, so more loops drain
        faster. SQLite claims without a lock: one loop."""
        self._wakes = [asyncio.Event() for _ in range(self._loops())]
        await asyncio.gather(*(self._loop(wake) for wake in self._wakes))

    async def _loop(self, wake: asyncio.Event) -> None:
        while not self._stopping:
            wake.clear()  # before claiming, so a commit during the claim is not missed
            try:
                processed = await self.run_once()
                self.streak.succeeded()
            except Exception as exc:
                self.streak.failed(exc)
                processed = 0
            if processed == 0:
                # Failing (the database is down): back off from the poll interval up to a cap, recovering by itself.
                poll = self._settings.poll_interval_s
                delay = max(poll, self.streak.backoff_s(poll, MAX_FAILURE_BACKOFF_S))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)

    async def run_once(self) -> int:
        """Claim a batch of due events and process it in one transaction; returns how many were processed."""
        waited = 0.0
        while self._acks_pending() and waited < MAX_YIELD_S and not self._stopping:
            await asyncio.sleep(YIELD_STEP_S)
            waited += YIELD_STEP_S
        if waited:
            self._stages.labels("yield").observe(waited)
        if self._stopping:
            return 0
        async with self._sessions() as session:
            batch = BatchTransaction(session, dialect_of(session) == "sqlite", self._clock.now)
            if not batch.sqlite:
                await batch.open()  # PostgreSQL: the claim's row locks belong to the batch's transaction
            with timed(self._stages, "claim"):
                size = self._settings.batch_size if batch.sqlite else self._claim_size
                rows = await inbound.claim_batch(session, self._clock.now(), size)
            session.expunge_all()  # each event starts on an empty identity map, as it did with a session of its own
            decoded = [self._decode(row) for row in rows]
            if rows:  # before SQLite's write lock: a channel may read its platform here (an OA follower's unionid)
                decoded = await self._decoders.enrich(session, decoded)
            directory = self._directory
            if batch.sqlite and rows:  # SQLite: read WeCom before taking the write lock (bot/ingest/prefetch.py)
                directory = PrefetchedDirectory(self._directory)
                await directory.read_ahead(decoded)
                await batch.open()
            processed = 0
            for row, event in zip(rows, decoded, strict=True):
                if self._stopping:  # finish the event in hand; the rest stay queued (unlocked by the commit)
                    break
                if not await self._process(batch, row, event, directory):
                    break
                processed += 1
            with timed(self._stages, "commit"):
                await batch.commit()
        self._count(batch)
        if rows and not batch.sqlite:
            self._claim_size = min(self._settings.batch_size, max(MIN_PG_CLAIM, 2 * processed))
        return processed

    def _decode(self, row: InboundEvent) -> Event | Exception:
        try:
            return self._decoders.decode(row)
        except Exception as exc:  # recorded as the event's failure when its turn comes
            return exc

    async def _process(
        self, batch: BatchTransaction, row: InboundEvent, event: Event | Exception, directory: ContactDirectory
    ) -> bool:
        """Handle one event inside the batch: its writes in a savepoint, so a failure undoes only its own. False
        when the event is left for the next batch."""
        if isinstance(event, Exception):
            batch.failed(self._failure(row, event))
            return True
        puller = self._pullers.get(type(event))
        if not batch.sqlite and batch.has_work:
            # PostgreSQL: end the batch (the rest is unlocked by its commit and claimed again) when it has held its
            # locks long enough, when callbacks pile up (the loop then steps aside for them), and before a pull,
            # whose pages upsert customers and sessions this batch may hold locked: they would wait for this
            # transaction, which would wait for them.
            if puller is not None or batch.due(acks_pending=self._acks_piling()):
                return False
            await batch.wait_briefly()
        elif batch.due(self._acks_pending()) or (puller is not None and batch.sqlite):
            with timed(self._stages, "commit"):  # on SQLite, a pull's pages commit on their own connections
                await batch.commit()
            if puller is None:
                await batch.open()
        try:
            if puller is not None:
                # The pull commits page by page with its cursor; only then is the trigger itself marked done, so a
                # crash mid-pull replays the trigger and the pull resumes from the last committed cursor.
                with timed(self._stages, "pull"):
                    await puller(event)
                handled = True
            else:
                session = batch.session
                ctx = Context(session=session, clock=self._clock, directory=directory, features=self._features)
                with timed(self._stages, "handle"):
                    async with session.begin_nested():
                        handled = await intake.take(self._dispatcher, [event], ctx) > 0
            if not handled:
                self._note_unhandled(type(event).__name__, row.kind)
            batch.done(row.id, handled)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if batch.has_work and lock_conflict(exc):
                return False  # it waited on another batch's locks: commit ours, it comes first in the next one
            batch.failed(self._failure(row, exc))
        if puller is not None and batch.sqlite:
            await batch.open()
        batch.session.expunge_all()
        return True

    def _count(self, batch: BatchTransaction) -> None:
        done = batch.committed
        handled = len(done.done) - len(done.unhandled)
        if handled:
            self._metrics.ingested.labels("handled").inc(handled)
        if done.unhandled:
            self._metrics.ingested.labels("unhandled").inc(len(done.unhandled))
        for failure in done.failures:
            self._metrics.ingested.labels("failed" if failure.retry_at is None else "retry").inc()

    def _note_unhandled(self, event_type: str, kind: str) -> None:
        """Say once per kind that events are marked done with nothing done (e.g. msgaudit_notify while the archive
        is not configured), so a missing setup is not a silent drop; the metric counts every one."""
        if event_type in self._unhandled_seen:
            return
        self._unhandled_seen.add(event_type)
        log.warning("no handler took a %s event (%s); such events are marked done as unhandled", event_type, kind)

    def _retry_at(self, attempts: int) -> datetime | None:
        if attempts >= self._settings.max_attempts:
            return None
        delay = min(self._settings.backoff_max_s, self._settings.backoff_base_s * 2 ** (attempts - 1))
        return self._clock.now() + timedelta(seconds=delay * random.uniform(0.8, 1.2))

    def _failure(self, row: InboundEvent, exc: Exception) -> Failure:
        """Retried with backoff, or failed for good when it can never succeed or has used its attempts."""
        retry_at = None if isinstance(exc, PermanentFailure) else self._retry_at(row.attempts + 1)
        error = f"{type(exc).__name__}: {exc}"
        if retry_at is None:
            log.error("inbound event %s (%s) failed for good: %s", row.id, row.kind, error)
        else:
            log.warning("inbound event %s (%s) failed, retry at %s: %s", row.id, row.kind, retry_at, error)
        return Failure(row.id, error, retry_at)
