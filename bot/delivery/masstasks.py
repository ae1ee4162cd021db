"""Mass tasks on WeCom's side: find a task whose creation went unanswered, and turn poll answers into the funnel.

Recognising our own task after a crash (DESIGN.md §2 rule 3): nothing invisible is added to customer text.
get_groupmsg_list_v2 is read for the attempt's time window (first attempt - 10 min .. now + 10 min); a candidate
must carry exactly our text and attachments (type; link title and url; image media id or url), a creator equal
to our sender when WeCom reports one, must not already belong to another of our tasks, and must list our sender
in its get_groupmsg_task members. The first such task is adopted; when none matches the task is created again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.apiclient import JsonObject, TokenClient
from bot.config.sender import SenderSettings
from bot.delivery.quotas import period_key
from bot.delivery.wire import MASS_PAGE, Claim, wire_attachment
from services.outbox.mass_queue import queue_task_followup
from services.outbox.masstasks import WECOM_REMINDS_PER_DAY, mark_cancelled, reminders_today, request_reminder
from storage.models.masstasks import MassTargetStatus, MassTaskStatus
from storage.models.outbox import OutboxKind
from storage.repos import masstasks
from storage.repos.masstasks import TargetResult

log = logging.getLogger("qunke.masstrack")

LIST_PATH: Final = "/cgi-bin/externalcontact/get_groupmsg_list_v2"
TASK_PATH: Final = "/cgi-bin/externalcontact/get_groupmsg_task"
RECONCILE_SLACK: Final = timedelta(minutes=10)
MEMBER_SENT: Final = 2  # get_groupmsg_task: 0 not sent, 2 sent
TARGET_STATUS: Final = {
    0: MassTargetStatus.UNSENT,
    1: MassTargetStatus.SENT,
    2: MassTargetStatus.NOT_FRIEND,
    3: MassTargetStatus.OVER_LIMIT,
}


def _attachment_key(attachment: JsonObject) -> tuple[str, ...]:
    kind = str(attachment.get("msgtype", ""))
    body = attachment.get(kind) or {}
    if kind == "link":
        return (kind, str(body.get("title", "")), str(body.get("url", "")))
    if kind == "image":
        return (kind, str(body.get("media_id") or body.get("pic_url") or ""))
    return (kind,)


def _same_content(item: JsonObject, claim: Claim) -> bool:
    text = str((item.get("text") or {}).get("content", ""))
    if text != str(claim.payload.get("text") or ""):
        return False
    ours = [_attachment_key(wire_attachment(a)) for a in claim.payload.get("attachments") or []]
    theirs = [_attachment_key(a) for a in item.get("attachments") or []]
    return ours == theirs


async def reconcile(
    client: TokenClient, sessions: async_sessionmaker[AsyncSession], claim: Claim, now: datetime
) -> str | None:
    """The msgid of the task an earlier, unanswered attempt created, or None when WeCom has no such task."""
    start = claim.first_attempt_at - RECONCILE_SLACK
    body: JsonObject = {
        "chat_type": claim.payload["chat_type"],
        "start_time": int(start.timestamp()),
        "end_time": int(min(now + RECONCILE_SLACK, start + timedelta(days=30)).timestamp()),
        "filter_type": 0,  # tasks the corp created (API and admin), not members' own
        "limit": 100,
    }
    candidates: list[str] = []
    while True:
        page = await client.call_once("POST", LIST_PATH, body=body)
        for item in page.get("group_msg_list") or []:
            creator = item.get("creator")
            if _same_content(item, claim) and (not creator or creator == claim.recipient):
                candidates.append(str(item["msgid"]))
        if not page.get("next_cursor"):
            break
        body["cursor"] = page["next_cursor"]
    async with sessions() as session:
        taken = await masstasks.linked_msgids(session, candidates)
    for msgid in candidates:
        if msgid in taken:
            continue
        tasks = await client.call_once("POST", TASK_PATH, body={"msgid": msgid, "limit": MASS_PAGE})
        if any(t.get("userid") == claim.recipient for t in tasks.get("task_list") or []):
            log.info("outbox %s: adopted mass task %s created by an earlier attempt", claim.row_id, msgid)
            return msgid
    return None


class MassTracker:
    """Applies a mass-task call's answer in the recording transaction and queues the next call."""

    def __init__(self, settings: SenderSettings, zone: ZoneInfo) -> None:
        self._settings, self._zone = settings, zone

    async def on_answer(self, session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
        if claim.kind == OutboxKind.MASS_TASK:
            await self._created(session, claim, data, now)
        elif claim.kind == OutboxKind.MASS_POLL:
            await self._polled(session, claim, data, now)
        elif claim.kind == OutboxKind.MASS_RESULTS:
            await self._results(session, claim, data, now)
        elif claim.kind == OutboxKind.MASS_CANCEL:
            await mark_cancelled(session, int(claim.payload["task_id"]), now)

    async def on_failed(self, session: AsyncSession, claim: Claim, now: datetime) -> None:
        """A poll or results call failed for good: keep tracking from the next poll rather than go blind."""
        if claim.kind in (OutboxKind.MASS_POLL, OutboxKind.MASS_RESULTS):
            task = await masstasks.task_by_id(session, int(claim.payload["task_id"]))
            if task is not None and task.finished_at is None:
                await self._next_poll(session, task.id, task.msgid or claim.recipient, task.polls, claim, now)

    async def _created(self, session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
        task = await masstasks.task_by_outbox(session, claim.row_id)
        if task is None:
            return
        msgid = str(data["msgid"])
        await masstasks.update_task(session, task.id, msgid=msgid, status=MassTaskStatus.CREATED, created_at=now)
        failed = [str(t) for t in data.get("fail_list") or []]
        await masstasks.set_targets(session, task.id, failed, MassTargetStatus.FAILED)
        await self._next_poll(session, task.id, msgid, 0, claim, now)

    async def _polled(self, session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
        task = await masstasks.task_by_id(session, int(claim.payload["task_id"]))
        if task is None or task.status != MassTaskStatus.CREATED or task.finished_at is not None:
            return
        mine = [t for t in data.get("task_list") or [] if t.get("userid") == task.sender]
        if mine and int(mine[0].get("status", 0)) == MEMBER_SENT:
            confirmed = _time(mine[0].get("send_time")) or now
            await masstasks.update_task(session, task.id, status=MassTaskStatus.CONFIRMED, confirmed_at=confirmed)
            await self._results_page(session, task.id, claim.recipient, task.sender, "", claim, now)
            return
        if self._expired(task.queued_at, now):
            await masstasks.update_task(session, task.id, finished_at=now)
            return
        await self._maybe_remind(session, task.id, task.created_at, task.remind_times, now)
        await self._next_poll(session, task.id, claim.recipient, task.polls + 1, claim, now)

    async def _results(self, session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
        task_id = int(claim.payload["task_id"])
        task = await masstasks.task_by_id(session, task_id)
        if task is None or task.finished_at is not None:
            return
        results = [self._result(item) for item in data.get("send_list") or []]
        await masstasks.apply_results(session, task_id, [r for r in results if r is not None])
        if data.get("next_cursor"):
            await self._results_page(
                session, task_id, claim.recipient, task.sender, str(data["next_cursor"]), claim, now
            )
            return
        unsent = await masstasks.targets_of(session, task_id, [MassTargetStatus.UNSENT])
        if not unsent or self._expired(task.queued_at, now):
            await masstasks.update_task(session, task_id, finished_at=now)
            return
        # Some targets are still unsent after confirmation: look again later, from the first page.
        await masstasks.update_task(session, task_id, polls=task.polls + 1)
        later = now + self._poll_delay(task.polls + 1)
        await self._results_page(session, task_id, claim.recipient, task.sender, "", claim, now, later)

    def _result(self, item: dict[str, Any]) -> TargetResult | None:
        target = str(item.get("external_userid") or item.get("chat_id") or "")
        if not target:
            return None
        status = TARGET_STATUS.get(int(item.get("status", 0)), MassTargetStatus.UNSENT)
        sent_at = _time(item.get("send_time")) if status == MassTargetStatus.SENT else None
        period = period_key(sent_at, self._zone, self._settings.mass_cap_period) if sent_at else None
        return TargetResult(target, status, sent_at, period)

    async def _maybe_remind(
        self, session: AsyncSession, task_id: int, created_at: datetime | None, times: list[str], now: datetime
    ) -> None:
        due_after = (created_at or now) + timedelta(hours=self._settings.mass_remind_after_h)
        last = max((datetime.fromisoformat(t) for t in times or []), default=None)
        spacing = timedelta(hours=24 / max(1, min(self._settings.mass_remind_per_day, WECOM_REMINDS_PER_DAY)))
        if now < due_after or (last is not None and now < last + spacing):
            return
        task = await masstasks.task_by_id(session, task_id)
        if task is not None and reminders_today(task, now) < self._settings.mass_remind_per_day:
            await request_reminder(session, now, task_id, self._settings.mass_remind_per_day)

    async def _next_poll(
        self, session: AsyncSession, task_id: int, msgid: str, polls: int, claim: Claim, now: datetime
    ) -> None:
        await masstasks.update_task(session, task_id, polls=polls)
        await queue_task_followup(
            session,
            now,
            OutboxKind.MASS_POLL,
            task_id,
            msgid,
            key=f"poll:{task_id}:after:{claim.row_id}",
            not_before=now + self._poll_delay(polls),
        )

    async def _results_page(
        self,
        session: AsyncSession,
        task_id: int,
        msgid: str,
        sender: str,
        cursor: str,
        claim: Claim,
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        await queue_task_followup(
            session,
            now,
            OutboxKind.MASS_RESULTS,
            task_id,
            msgid,
            key=f"results:{task_id}:after:{claim.row_id}",
            not_before=not_before,
            extra={"userid": sender, "cursor": cursor},
        )

    def _poll_delay(self, polls: int) -> timedelta:
        s = self._settings
        return timedelta(seconds=min(s.mass_poll_max_interval_s, s.mass_poll_interval_s * 2 ** min(polls, 20)))

    def _expired(self, queued_at: datetime, now: datetime) -> bool:
        return now > queued_at + timedelta(days=self._settings.mass_track_days)


def _time(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
