"""The sender: the only code that sends (DESIGN.md §2 rule 2). Claim due rows, call WeCom, record what happened.

Each cycle claims a batch in one short transaction (quotas checked and reserved there, bot/delivery/claims.py),
sends the batch concurrently with no retry inside the call, and records every outcome in one more transaction
(bot/delivery/outcomes.py). A crash anywhere leaves rows `sending` under a lease that runs out; the next claim resolves
them without a blind resend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import failpoints
from bot.channels.apiclient import ApiError, ApiUnavailable, TokenClient
from bot.config.settings import Settings
from bot.delivery.claims import ClaimBatch, Claimer
from bot.delivery.masstasks import MassTracker, reconcile
from bot.delivery.outcomes import Kind, Outcome, Recorder
from bot.delivery.wire import Channel, Claim, build_request
from bot.failure_streak import FailureStreak
from bot.metrics import Metrics
from services.clock import Clock
from storage.models.outbox import OutboxKind, OutboxStatus
from storage.repos import outbox as outbox_repo
from storage.repos import quotas

log = logging.getLogger("qunke.sender")

HOUSEKEEPING_EVERY_S: Final = 30.0
MAX_FAILURE_BACKOFF_S: Final = 15.0


class Sender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        wecom: TokenClient,
        oa: TokenClient | None,
        clock: Clock,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._sessions, self._wecom, self._oa, self._clock, self._metrics = sessions, wecom, oa, clock, metrics
        self._settings = settings.sender
        self._agent_id = settings.wecom.agent_id or 0
        self._request_timeout = timedelta(seconds=settings.wecom.request_timeout_s)
        zone = ZoneInfo(settings.timezone)
        tracker = MassTracker(self._settings, zone)
        self._claimer = Claimer(self._settings, zone, metrics)
        self._recorder = Recorder(self._settings, tracker, metrics)
        self._slots = asyncio.Semaphore(self._settings.concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._housekept = 0.0
        self.streak = FailureStreak(log, "sender cycle", recovered="database reachable again")

    def wake(self) -> None:
        """Look for work now instead of at the next poll (called after queueing in this process)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand (sends and their records) and return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming, so a row queued during the claim is not missed
            try:
                batch = await self.run_once()
                self.streak.succeeded()
            except Exception as exc:
                self.streak.failed(exc)
                poll = self._settings.poll_interval_s
                with contextlib.suppress(TimeoutError):  # back off while failing (the database is down)
                    await asyncio.wait_for(self._wake.wait(), self.streak.backoff_s(poll, MAX_FAILURE_BACKOFF_S))
                continue
            if batch.claims or (batch.examined >= self._settings.batch_size and batch.rate_wait is None):
                continue
            await self._idle(batch)

    async def run_once(self) -> ClaimBatch:
        """One cycle: claim, send, record. Returns the claim so the loop can pace itself."""
        async with self._sessions() as session, session.begin():
            batch = await self._claimer.claim(session, self._clock.now())
        if batch.claims:
            failpoints.hit("sender.after_claim")
            outcomes = await asyncio.gather(*(self._deliver(claim) for claim in batch.claims))
            # Crash tests: die after WeCom has the messages and before their outcomes are recorded.
            for kind in sorted({claim.kind for claim in batch.claims}):
                failpoints.hit(f"sender.after_send.{kind}")
            await self._record(batch.claims, outcomes)
        if time.monotonic() - self._housekept >= HOUSEKEEPING_EVERY_S:
            await self._housekeeping()
        return batch

    async def _idle(self, batch: ClaimBatch) -> None:
        delay = self._settings.poll_interval_s
        if batch.rate_wait is not None:
            delay = max(0.01, min(delay, (batch.rate_wait - self._clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    async def _deliver(self, claim: Claim) -> Outcome:
        async with self._slots:
            started = time.monotonic()
            try:
                return await self._attempt(claim)
            except (ApiError, ApiUnavailable) as exc:
                return Outcome.from_error(exc, claim.kind)
            except Exception as exc:  # a bug must not strand the batch; the row is retried as possibly sent
                log.exception("outbox %s: unexpected error while sending", claim.row_id)
                return Outcome(Kind.RETRY, f"{type(exc).__name__}: {exc}", maybe_sent=True)
            finally:
                self._metrics.send_seconds.labels(claim.api).observe(time.monotonic() - started)

    async def _attempt(self, claim: Claim) -> Outcome:
        if claim.kind == OutboxKind.MASS_TASK and claim.unknown_since is not None:
            msgid = await reconcile(self._wecom, self._sessions, claim, self._clock.now())
            if msgid is not None:
                return Outcome(Kind.SENT, data={"msgid": msgid, "reconciled": True})
        request = build_request(claim, self._agent_id, self._settings.duplicate_check_interval_s)
        client = self._wecom if request.channel is Channel.WECOM else self._oa
        if client is None:
            return Outcome(Kind.FAILED, "the Official Account channel is not configured (WECHAT_OA_APPID)")
        if self._clock.now() + self._request_timeout >= claim.lease_until:
            # The call could outlive the lease and race a second sender: let the lease run out instead.
            return Outcome(Kind.RETRY, "too little of the lease left to send safely")
        data = await client.call_once("POST", request.path, body=request.body)
        return Outcome(Kind.SENT, data=data)

    async def _record(self, claims: list[Claim], outcomes: list[Outcome]) -> None:
        try:
            async with self._sessions() as session, session.begin():
                results = list(zip(claims, outcomes, strict=True))
                await self._recorder.record_all(session, results, self._clock.now())
        except Exception as exc:
            # The rows stay `sending`; when their leases run out the next claim resolves them as unknown outcomes.
            log.error("could not record the outcomes of %d sends; their leases will resolve them", len(claims))
            self.streak.failed(exc)

    async def _housekeeping(self) -> None:
        self._housekept = time.monotonic()
        now = self._clock.now()
        margin = self._settings.window_margin_s
        keep_from = now - timedelta(hours=1, seconds=margin + self._settings.lease_s)
        try:
            async with self._sessions() as session, session.begin():
                buckets = {"m:": int(now.timestamp()) - 120, "g": int(now.timestamp() * 10) - 1200}
                buckets["h:"] = int(now.timestamp() // 60) - 62
                buckets["d:"] = now.date().toordinal() - 2
                await quotas.prune(session, keep_from, buckets)
                counts = await outbox_repo.count_by_status(session)
        except Exception as exc:  # the database: counted with the cycle's other failures
            self.streak.failed(exc)
            return
        for status in OutboxStatus:
            self._metrics.outbox_rows.labels(status).set(counts.get(status, 0))
