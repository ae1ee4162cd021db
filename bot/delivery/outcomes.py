"""What an attempt's answer means for its row: sent, retried with backoff, paused for a rate limit, failed, unknown."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.apiclient import ApiError, ApiUnavailable, ErrorClass, JsonObject, backoff_s
from bot.channels.officialaccount.client import OUT_OF_WINDOW, OVER_COUNT
from bot.config.sender import SenderSettings
from bot.delivery import attempt_notes as notes
from bot.delivery.claims import NO_RESEND
from bot.delivery.kf_handoff import after_kf_trans, after_kf_trans_refused
from bot.delivery.masstasks import MassTracker
from bot.delivery.sent_replies import CUSTOMER_MESSAGES, record_sent_replies
from bot.delivery.wire import Claim
from bot.metrics import Metrics
from services.customers.tagging import apply_marked
from services.outbox.masstasks import mark_failed
from services.tickets.relay import relayed_by, tell_not_sent
from storage.models.outbox import OutboxKind, OutboxStatus
from storage.repos import masstasks, quotas, windows
from storage.repos import outbox as outbox_repo
from storage.repos.windows import KfPair, split_kf_recipient

log = logging.getLogger("qunke.sender")

# "群发消息正在被派发中": a task read right after creation; it settles within seconds.
MASS_DISPATCHING: Final = 41063
KF_OVER_QUOTA: Final = 95001
KF_OUT_OF_WINDOW: Final = 95002
KF_STATE: Final = 95018
KF_ILLEGAL_TRANSITION: Final = 95016  # service_state/trans from a state that does not allow it: permanent
# A kf msgid WeCom already accepted: "否则接口返回错误" (WECOM.md §2d; the code is the sandbox's, UNCONFIRMED).
# Our msgids are stable per row, so this answers a resend of a message that went out: it is sent, not failed.
KF_MSGID_REPEATED: Final = 95020
KF_SEND_KINDS: Final = (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE)
# Keep what an operator needs from an answer, not whole pages of results.
ANSWER_KEYS: Final = (
    "msgid",
    "invaliduser",
    "invalidparty",
    "invalidtag",
    "unlicenseduser",
    "fail_list",
    "response_code",
    "reconciled",  # a mass task adopted from WeCom's record after an unanswered attempt
)


class Kind(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    reason: str = ""
    data: JsonObject = field(default_factory=dict)
    errcode: int | None = None
    maybe_sent: bool = False

    @staticmethod
    def from_error(exc: ApiError | ApiUnavailable, kind: str = "") -> Outcome:
        if isinstance(exc, ApiUnavailable):
            return Outcome(Kind.RETRY, f"unavailable: {exc}", maybe_sent=exc.maybe_sent)
        reason = f"errcode {exc.errcode}: {exc.errmsg[:200]}"
        if kind in KF_SEND_KINDS and exc.errcode == KF_MSGID_REPEATED:
            return Outcome(Kind.SENT, f"already accepted ({reason})", errcode=exc.errcode)
        if exc.error_class is ErrorClass.RATE_LIMIT:
            return Outcome(Kind.RATE_LIMITED, reason, errcode=exc.errcode)
        if exc.error_class in (ErrorClass.TRANSIENT, ErrorClass.TOKEN) or exc.errcode == MASS_DISPATCHING:
            return Outcome(Kind.RETRY, reason, errcode=exc.errcode)
        return Outcome(Kind.FAILED, reason, errcode=exc.errcode)


class Recorder:
    """Writes outcomes in the recording transaction; a row whose lease was lost meanwhile is left alone."""

    def __init__(self, settings: SenderSettings, tracker: MassTracker, metrics: Metrics) -> None:
        self._settings, self._tracker, self._metrics = settings, tracker, metrics
        self._updates: list[dict[str, Any]] = []
        self._replies: list[Claim] = []
        # A rep's relayed OA reply that did not go: (claim, status, reason); they hear of it once the batch is recorded.
        self._relays_lost: list[tuple[Claim, str, str]] = []

    async def record_all(self, session: AsyncSession, results: list[tuple[Claim, Outcome]], now: datetime) -> None:
        """Record a batch: rows whose lease was lost meanwhile are left alone; the rest update in one executemany."""
        held = await outbox_repo.held(session, [(claim.row_id, claim.attempt) for claim, _ in results])
        self._updates, self._replies, self._relays_lost = [], [], []
        for claim, outcome in results:
            if claim.row_id not in held:
                log.warning("outbox %s: lease %s was lost before its outcome was recorded", claim.row_id, claim.attempt)
                continue
            await self._record_one(session, claim, outcome, now)
        await outbox_repo.finish_many(session, self._updates)
        await record_sent_replies(session, self._replies, now)
        for claim, status, reason in self._relays_lost:
            unknown = status == OutboxStatus.UNKNOWN
            await tell_not_sent(session, now, claim.payload, reason, claim.row_id, unknown=unknown)

    async def _record_one(self, session: AsyncSession, claim: Claim, outcome: Outcome, now: datetime) -> None:
        if outcome.kind is Kind.SENT:
            await self._sent(session, claim, outcome, now)
        elif outcome.kind is Kind.RATE_LIMITED:
            await self._rate_limited(session, claim, outcome, now)
        elif outcome.kind is Kind.RETRY:
            await self._retry(session, claim, outcome, now)
        else:
            await self._failed(session, claim, outcome, now)

    def _finish(self, claim: Claim, now: datetime, **values: Any) -> None:
        """Queue the row's new values for the batch's one UPDATE (its lease was checked by `record_all`)."""
        self._updates.append({"id": claim.row_id, **values, "updated_at": now})

    async def _sent(self, session: AsyncSession, claim: Claim, outcome: Outcome, now: datetime) -> None:
        answer = {k: outcome.data[k] for k in ANSWER_KEYS if outcome.data.get(k)}
        result = notes.with_answer(claim.result, answer)
        closed = {"status": OutboxStatus.SENT, "sent_at": now, "due_at": None, "lease_until": None, "reason": ""}
        self._finish(claim, now, **closed, unknown_since=None, result=result)
        if claim.kind == OutboxKind.APP_MESSAGE:
            await quotas.settle_member_stamps(session, claim.row_id, now)
        await self._tracker.on_answer(session, claim, outcome.data, now)
        if claim.kind == OutboxKind.KF_TRANS:
            await after_kf_trans(session, claim, outcome.data, now)
        if claim.kind == OutboxKind.MARK_TAG:
            await apply_marked(session, claim.recipient, claim.payload, now)
        if claim.kind in CUSTOMER_MESSAGES:
            self._replies.append(claim)  # on the timeline with the batch's other replies (record_all)
        self._metrics.outbox_finished.labels(claim.kind, OutboxStatus.SENT).inc()

    async def _rate_limited(self, session: AsyncSession, claim: Claim, outcome: Outcome, now: datetime) -> None:
        # WeCom refused the call before doing it: pause this API for every sender, then try again.
        pause = timedelta(seconds=self._settings.rate_limit_pause_s * random.uniform(1.0, 1.3))
        until = now + pause
        await quotas.pause_api(session, claim.api, until, outcome.reason)
        values = {"status": OutboxStatus.DEFERRED, "not_before": until, "due_at": until, "lease_until": None}
        self._finish(claim, now, **values, reason=f"rate_limited: {outcome.reason}")
        self._metrics.api_paused.labels(claim.api).inc()
        self._metrics.outbox_deferred.labels("rate_limited").inc()
        log.warning("%s answered %s: paused for every sender until %s", claim.api, outcome.errcode, until)

    async def _retry(self, session: AsyncSession, claim: Claim, outcome: Outcome, now: datetime) -> None:
        unknown = claim.unknown_since or (now if outcome.maybe_sent else None)
        if outcome.maybe_sent and claim.kind in NO_RESEND:
            reason = f"no answer, and a resend could duplicate it: {outcome.reason}"
            self._close(claim, now, OutboxStatus.UNKNOWN, reason)
            return
        result = notes.with_failure(claim.result)
        failures = notes.failures(result)
        if failures >= self._settings.max_attempts:
            final = OutboxStatus.UNKNOWN if unknown else OutboxStatus.FAILED
            self._close(claim, now, final, f"gave up after {failures} attempts: {outcome.reason}", result)
            if final == OutboxStatus.FAILED:
                await self._release(session, claim, now)
            return
        delay = backoff_s(failures - 1, base=self._settings.backoff_base_s, cap=self._settings.backoff_max_s)
        until = now + timedelta(seconds=delay)
        values = {"status": OutboxStatus.DEFERRED, "not_before": until, "due_at": until, "lease_until": None}
        self._finish(claim, now, **values, unknown_since=unknown, reason=f"retry: {outcome.reason}", result=result)
        self._metrics.outbox_deferred.labels("retry").inc()

    async def _failed(self, session: AsyncSession, claim: Claim, outcome: Outcome, now: datetime) -> None:
        if claim.unknown_since is not None:
            # A resend was refused, but the attempt nobody heard back from may have gone out.
            reason = f"an earlier attempt's outcome is unknown and the resend was refused: {outcome.reason}"
            self._close(claim, now, OutboxStatus.UNKNOWN, reason)
            return
        reason = self._explain(claim, outcome)
        self._close(claim, now, OutboxStatus.FAILED, reason)
        await self._after_refusal(session, claim, outcome)
        if claim.kind == OutboxKind.KF_TRANS and await after_kf_trans_refused(session, claim, outcome.errcode, now):
            self._metrics.kf_handoffs.labels("pool_fallback").inc()
        await self._release(session, claim, now, outcome.errcode)

    def _close(
        self, claim: Claim, now: datetime, status: str, reason: str, result: dict[str, Any] | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "due_at": None, "lease_until": None, "reason": reason}
        if result is not None:
            values["result"] = result
        self._finish(claim, now, **values)
        self._metrics.outbox_finished.labels(claim.kind, status).inc()
        if claim.kind == OutboxKind.OA_MESSAGE and relayed_by(claim.payload):
            self._relays_lost.append((claim, status, reason))
        log.warning("outbox %s (%s) %s: %s", claim.row_id, claim.kind, status, reason)

    @staticmethod
    def _explain(claim: Claim, outcome: Outcome) -> str:
        code = outcome.errcode
        kf = claim.kind in (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE)
        if kf and code == KF_OVER_QUOTA:
            return f"kf_quota: WeCom counts 5 sends since the customer's last message ({outcome.reason})"
        if claim.kind == OutboxKind.KF_MESSAGE and code == KF_OUT_OF_WINDOW:
            return f"kf_window_closed: ({outcome.reason})"
        if kf and code == KF_STATE:
            return f"kf_session_state: ({outcome.reason})"
        if claim.kind == OutboxKind.KF_TRANS and code == KF_ILLEGAL_TRANSITION:
            return f"kf_illegal_transition: the session's state does not allow this hand-off ({outcome.reason})"
        if claim.kind == OutboxKind.OA_MESSAGE and code in (OUT_OF_WINDOW, OVER_COUNT):
            return f"oa_window_closed: ({outcome.reason})"
        return outcome.reason

    async def _after_refusal(self, session: AsyncSession, claim: Claim, outcome: Outcome) -> None:
        """WeCom's own count disagrees with ours: believe WeCom."""
        if claim.kind not in (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE):
            return
        pair = claim_kf_pair(claim)
        if outcome.errcode == KF_OVER_QUOTA:
            await windows.exhaust_kf_window(session, pair, self._settings.kf_quota)
        elif outcome.errcode == KF_OUT_OF_WINDOW:
            await windows.close_kf_window(session, pair)

    async def _release(self, session: AsyncSession, claim: Claim, now: datetime, errcode: int | None = None) -> None:
        """Nothing went out: give back what the claim reserved (not after 95001: WeCom says nothing is left)."""
        if claim.kind in (OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE):
            window_at = notes.kf_window_at(claim.result)
            if errcode == KF_OVER_QUOTA or window_at is None:
                return
            await windows.release_kf_send(session, claim_kf_pair(claim), window_at)
        elif claim.kind == OutboxKind.MASS_TASK:
            task = await masstasks.task_by_outbox(session, claim.row_id)
            if task is not None:
                await mark_failed(session, task.id, now)
        else:
            await self._tracker.on_failed(session, claim, now)


def claim_kf_pair(claim: Claim) -> KfPair:
    if claim.kind == OutboxKind.KF_EVENT_MESSAGE:
        return str(claim.payload.get("open_kfid", "")), str(claim.payload.get("external_userid", ""))
    return split_kf_recipient(claim.recipient)
