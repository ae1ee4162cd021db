"""The claim: one short transaction that takes due rows by priority, checks every quota and leases what may go.

On PostgreSQL claims from every process take turns on one advisory lock, so two senders never both see room for
the 30th message of a minute; the rows themselves are taken FOR UPDATE SKIP LOCKED. SQLite runs one sender.
A row whose lease ran out is a send whose outcome is unknown: it is resent only where WeCom dedupes it
(message/send's duplicate check, kf msgid), reconciled first (add_msg_template), or left `unknown` (OA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.sender import SenderSettings
from bot.delivery import attempt_notes as notes
from bot.delivery.masstasks import LIST_PATH
from bot.delivery.quotas import QuotaBook, Verdict, kf_pair
from bot.delivery.wire import Claim
from bot.metrics import Metrics
from services.outbox.masstasks import mark_failed
from services.tickets.relay import tell_not_sent
from storage.db import dialect_of
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus
from storage.repos import masstasks, quotas
from storage.repos import outbox as outbox_repo
from storage.repos.windows import split_kf_recipient

CLAIM_LOCK: Final = 0x5157_4B45_0001  # pg_advisory_xact_lock key: "QWKE" + 1
# Kinds whose resend WeCom cannot recognise: an unknown outcome stays unknown (an operator may retry).
NO_RESEND: Final = frozenset({OutboxKind.OA_MESSAGE, OutboxKind.MASS_REMIND})
RECONCILE_API: Final = LIST_PATH
# Calls that follow a task already created: a bounded share of each batch, so they cannot starve task creation.
POLL_KINDS: Final = (OutboxKind.MASS_POLL, OutboxKind.MASS_RESULTS)


class Action(StrEnum):
    GO = "go"
    DEFER = "defer"
    FAIL = "fail"
    UNKNOWN = "unknown"
    SKIP = "skip"  # a momentary rate limit: leave the row as it is and come back


@dataclass(slots=True)
class Decision:
    action: Action
    reason: str = ""
    until: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] = ()


@dataclass(slots=True)
class ClaimBatch:
    claims: list[Claim]
    examined: int
    rate_wait: datetime | None = None  # when a row skipped for a rate limit may go


class Claimer:
    def __init__(self, settings: SenderSettings, zone: ZoneInfo, metrics: Metrics) -> None:
        self._settings, self._zone, self._metrics = settings, zone, metrics

    async def claim(self, session: AsyncSession, now: datetime) -> ClaimBatch:
        """Claim inside the caller's transaction; the caller commits."""
        if dialect_of(session) == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
        paused = await quotas.paused_apis(session, now)
        size = self._settings.batch_size
        poll_places = max(1, int(size * self._settings.mass_poll_share))
        rows = await outbox_repo.due_rows(session, now, size, paused, POLL_KINDS, poll_places)
        batch = ClaimBatch([], len(rows))
        if not rows:
            return batch
        book = await QuotaBook.load(session, now, rows, self._settings, self._zone)
        for row in rows:
            decision = await self._decide(session, book, row, now)
            if decision.action is Action.SKIP:
                assert decision.until is not None
                batch.rate_wait = min(batch.rate_wait or decision.until, decision.until)
                continue
            claim = await self._apply(session, row, decision, now)
            if claim is not None:
                batch.claims.append(claim)
        await book.flush(session)
        return batch

    async def _decide(self, session: AsyncSession, book: QuotaBook, row: Outbox, now: datetime) -> Decision:
        recovering = row.status == OutboxStatus.SENDING
        if recovering and row.kind in NO_RESEND:
            return Decision(Action.UNKNOWN, "the lease ran out before an answer; resending could duplicate it")
        lease_until = now + timedelta(seconds=self._settings.lease_s)
        unknown = recovering or row.unknown_since is not None
        if unknown and row.kind == OutboxKind.APP_MESSAGE and row.first_attempt_at is not None:
            dedupe_until = row.first_attempt_at + timedelta(seconds=self._settings.duplicate_check_interval_s)
            if lease_until >= dedupe_until:
                return Decision(Action.UNKNOWN, "outcome unknown and WeCom's duplicate check no longer covers a resend")
        verdict, decision = self._kind_room(book, row, now, counted=notes.counted(row.result))
        if not verdict.ok:
            return decision
        if row.kind in POLL_KINDS and not (poll := book.poll_room()).ok:
            return Decision(Action.SKIP, poll.reason, poll.until)
        reconcile = unknown and row.kind == OutboxKind.MASS_TASK
        for api in (row.api, RECONCILE_API) if reconcile else (row.api,):
            call = book.call_room(api, row.priority)
            if not call.ok:
                return Decision(Action.SKIP, call.reason, call.until)
        book.take_call(row.api)
        if row.kind in POLL_KINDS:
            book.take_poll()
        if reconcile:
            book.take_call(RECONCILE_API)  # the attempt reads get_groupmsg_list_v2 before it creates anything
        return await self._reserve(session, book, row, lease_until, decision)

    def _kind_room(self, book: QuotaBook, row: Outbox, now: datetime, *, counted: bool) -> tuple[Verdict, Decision]:
        kind = row.kind
        if kind == OutboxKind.APP_MESSAGE:
            verdict = book.members_room(row.recipient.split("|"))
            return verdict, Decision(Action.DEFER, verdict.reason, verdict.until)
        if kind == OutboxKind.KF_MESSAGE:
            verdict = book.kf_room(split_kf_recipient(row.recipient), counted_already=counted)
            return verdict, Decision(Action.FAIL, verdict.reason)
        if kind == OutboxKind.OA_MESSAGE:
            verdict = book.oa_room(row.recipient, counted_already=counted)
            return verdict, Decision(Action.FAIL, verdict.reason)
        if kind == OutboxKind.KF_EVENT_MESSAGE:
            expires = datetime.fromisoformat(row.payload["code_expires_at"])
            if now + timedelta(seconds=self._settings.window_margin_s) >= expires:
                return Verdict(False), Decision(Action.FAIL, "kf_code_expired: the event code expired before sending")
            verdict = book.kf_event_room(kf_pair(row), counted_already=counted)
            return verdict, Decision(Action.FAIL, verdict.reason)
        if kind == OutboxKind.WELCOME_MESSAGE:
            expires = datetime.fromisoformat(row.payload["code_expires_at"])
            if now + timedelta(seconds=self._settings.window_margin_s) >= expires:
                reason = "welcome_code_expired: WeCom's 20 s for send_welcome_msg passed before sending"
                return Verdict(False), Decision(Action.FAIL, reason)
        if kind == OutboxKind.MASS_TASK and not counted:
            within, _ = book.mass_split(row.id)
            if row.id not in book.mass_task_ids or not (within or book.mass_pending.get(row.id)):
                return Verdict(False), Decision(Action.FAIL, "the task has no targets left")
            if not within:
                reason = (
                    f"mass_cap: every target has had its {book.cap} mass messages this {book.settings.mass_cap_period}"
                )
                return Verdict(False), Decision(Action.DEFER, reason, book.next_period())
        return Verdict.go(), Decision(Action.GO)

    async def _reserve(
        self, session: AsyncSession, book: QuotaBook, row: Outbox, lease_until: datetime, decision: Decision
    ) -> Decision:
        go = Decision(Action.GO, result={})
        if row.kind == OutboxKind.APP_MESSAGE:
            book.reserve_members(row.recipient.split("|"), lease_until, row.id)
            if row.first_attempt_at is None and row.content_key:
                since = book.now - timedelta(seconds=self._settings.duplicate_check_interval_s)
                same = await outbox_repo.count_same_content(session, row.content_key, since, row.id)
                go.result |= notes.repeated(same)
        elif row.kind in (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE) and not notes.counted(row.result):
            window_at = book.reserve_kf(kf_pair(row))
            go.result |= notes.kf_charged(window_at)
        elif row.kind == OutboxKind.OA_MESSAGE and not notes.counted(row.result):
            book.reserve_oa(row.recipient)
            go.result |= notes.oa_charged()
        elif row.kind == OutboxKind.MASS_TASK:
            if not notes.counted(row.result):
                within, over = book.mass_split(row.id)
                book.reserve_mass(row.id, within, over)
                go.result |= notes.mass_charged(len(over))
                go.targets = tuple(within)
            else:
                go.targets = tuple(book.mass_unsent.get(row.id, []))
        return go

    async def _apply(self, session: AsyncSession, row: Outbox, decision: Decision, now: datetime) -> Claim | None:
        unknown = row.unknown_since or (row.lease_until if row.status == OutboxStatus.SENDING else None)
        row.unknown_since, row.updated_at = unknown, now  # kept through deferrals: a later attempt must know
        if decision.action in (Action.FAIL, Action.UNKNOWN):
            # A resend that may no longer go out after an attempt nobody heard back from: the outcome is unknown.
            final = OutboxStatus.UNKNOWN if unknown is not None else OutboxStatus.FAILED
            self._close(row, final, decision.reason)
            self._metrics.outbox_finished.labels(row.kind, final).inc()
            if row.kind == OutboxKind.OA_MESSAGE:  # a rep's relayed reply: they hear it did not go
                unknown_now = final == OutboxStatus.UNKNOWN
                await tell_not_sent(session, now, row.payload, decision.reason, row.id, unknown=unknown_now)
            if row.kind == OutboxKind.MASS_TASK and final == OutboxStatus.FAILED:
                await self._task_failed(session, row, now)
            return None
        if decision.action is Action.DEFER:
            assert decision.until is not None
            row.status, row.not_before, row.due_at, row.reason = (
                OutboxStatus.DEFERRED,
                decision.until,
                decision.until,
                decision.reason,
            )
            self._metrics.outbox_deferred.labels(decision.reason.split(":")[0]).inc()
            return None
        row.status = OutboxStatus.SENDING
        row.attempts += 1
        row.lease_until = now + timedelta(seconds=self._settings.lease_s)
        row.due_at = row.lease_until
        row.first_attempt_at = row.first_attempt_at or now
        row.result = {**row.result, **decision.result}
        return Claim(
            row_id=row.id,
            attempt=row.attempts,
            kind=row.kind,
            api=row.api,
            recipient=row.recipient,
            payload=dict(row.payload),
            result=dict(row.result),
            idempotency_key=row.idempotency_key,
            priority=row.priority,
            lease_until=row.lease_until,
            first_attempt_at=row.first_attempt_at,
            unknown_since=unknown,
            targets=decision.targets,
            repeat=notes.repeat(row.result),
        )

    @staticmethod
    def _close(row: Outbox, status: str, reason: str) -> None:
        row.status, row.reason, row.due_at, row.lease_until = status, reason, None, None

    @staticmethod
    async def _task_failed(session: AsyncSession, row: Outbox, now: datetime) -> None:
        task = await masstasks.task_by_outbox(session, row.id)
        if task is not None:
            await mark_failed(session, task.id, now)
