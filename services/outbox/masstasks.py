"""Mass tasks after they are queued: the funnel (created -> confirmed -> delivered), reminders and cancellation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.mass_queue import queue_task_followup
from storage.models.masstasks import MassTargetStatus, MassTask, MassTaskStatus
from storage.models.outbox import OutboxKind
from storage.repos import masstasks
from storage.repos import outbox as outbox_repo

REMIND_WINDOW: Final = timedelta(hours=24)
WECOM_REMINDS_PER_DAY: Final = 3  # remind_groupmsg_send: at most 3 times in 24 h per task


class TaskAction(StrEnum):
    QUEUED = "queued"  # the call is in the outbox
    CANCELLED = "cancelled"  # never reached WeCom: cancelled locally
    NOT_FOUND = "not_found"
    NOT_CREATED = "not_created"  # WeCom has no such task yet
    BUSY = "busy"  # the task is being created right now; try again in a moment
    CLOSED = "closed"  # confirmed, cancelled or failed already
    LIMIT = "limit"  # reminded 3 times in the last 24 h


@dataclass(frozen=True, slots=True)
class TaskFunnel:
    id: int
    sender: str
    chat_type: str
    status: str
    text: str
    msgid: str | None
    queued_at: datetime
    created_at: datetime | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    finished_at: datetime | None
    reminders: list[str]
    targets: dict[str, int]
    outbox_id: int
    outbox_status: str = ""
    outbox_reason: str = ""
    target_rows: list[dict[str, object]] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return self.targets.get(MassTargetStatus.SENT, 0)


def _funnel(task: MassTask, counts: dict[str, int], outbox_status: str = "", reason: str = "") -> TaskFunnel:
    return TaskFunnel(
        id=task.id,
        sender=task.sender,
        chat_type=task.chat_type,
        status=task.status,
        text=task.text,
        msgid=task.msgid,
        queued_at=task.queued_at,
        created_at=task.created_at,
        confirmed_at=task.confirmed_at,
        cancelled_at=task.cancelled_at,
        finished_at=task.finished_at,
        reminders=list(task.remind_times or []),
        targets=counts,
        outbox_id=task.outbox_id,
        outbox_status=outbox_status,
        outbox_reason=reason,
    )


async def list_funnels(session: AsyncSession, limit: int = 50, status: str | None = None) -> list[TaskFunnel]:
    tasks = await masstasks.list_tasks(session, limit, status)
    counts = await masstasks.target_counts(session, [t.id for t in tasks])
    return [_funnel(t, counts.get(t.id, {})) for t in tasks]


async def show_funnel(session: AsyncSession, task_id: int) -> TaskFunnel | None:
    task = await masstasks.task_by_id(session, task_id)
    if task is None:
        return None
    counts = await masstasks.target_counts(session, [task.id])
    row = await outbox_repo.get(session, task.outbox_id)
    funnel = _funnel(task, counts.get(task.id, {}), row.status if row else "", row.reason if row else "")
    for target in await masstasks.targets_of(session, task.id):
        funnel.target_rows.append(
            {
                "target_id": target.target_id,
                "type": target.target_type,
                "status": target.status,
                "send_time": target.send_time,
            }
        )
    return funnel


def reminders_today(task: MassTask, now: datetime) -> int:
    return sum(1 for at in task.remind_times or [] if datetime.fromisoformat(at) > now - REMIND_WINDOW)


async def request_reminder(session: AsyncSession, now: datetime, task_id: int, per_day: int = 3) -> TaskAction:
    """Queue remind_groupmsg_send for a task the member has not confirmed, at most `per_day` (<= 3) a day."""
    task = await masstasks.task_by_id(session, task_id)
    if task is None:
        return TaskAction.NOT_FOUND
    if task.status == MassTaskStatus.PENDING or not task.msgid:
        return TaskAction.NOT_CREATED
    if task.status != MassTaskStatus.CREATED:
        return TaskAction.CLOSED
    if reminders_today(task, now) >= min(per_day, WECOM_REMINDS_PER_DAY):
        return TaskAction.LIMIT
    # Counted when queued, not when answered: a reminder whose outcome is unknown still used one of the 3.
    times = [*(task.remind_times or []), now.isoformat()]
    await masstasks.update_task(session, task.id, remind_times=times)
    await queue_task_followup(
        session, now, OutboxKind.MASS_REMIND, task.id, task.msgid, key=f"remind:{task.id}:{len(times)}"
    )
    return TaskAction.QUEUED


async def request_cancel(session: AsyncSession, now: datetime, task_id: int) -> TaskAction:
    """Cancel a task: locally while it is still queued, through cancel_groupmsg_send once WeCom has it."""
    task = await masstasks.task_by_id(session, task_id)
    if task is None:
        return TaskAction.NOT_FOUND
    if task.status in (MassTaskStatus.CANCELLED, MassTaskStatus.FAILED, MassTaskStatus.CONFIRMED):
        return TaskAction.CLOSED
    if task.status == MassTaskStatus.PENDING:
        if not await outbox_repo.cancel_pending(session, task.outbox_id, now, "cancelled by an operator"):
            return TaskAction.BUSY
        await mark_cancelled(session, task.id, now)
        return TaskAction.CANCELLED
    assert task.msgid is not None
    await queue_task_followup(session, now, OutboxKind.MASS_CANCEL, task.id, task.msgid, key=f"cancel:{task.id}")
    return TaskAction.QUEUED


async def mark_cancelled(session: AsyncSession, task_id: int, now: datetime) -> None:
    """The task will never be sent: its unsent targets stop counting against the cap."""
    await masstasks.update_task(session, task_id, status=MassTaskStatus.CANCELLED, cancelled_at=now, finished_at=now)
    await masstasks.release_targets(
        session, task_id, (MassTargetStatus.PENDING, MassTargetStatus.UNSENT), MassTargetStatus.CANCELLED
    )


async def mark_failed(session: AsyncSession, task_id: int, now: datetime) -> None:
    """WeCom refused the task (or it never could be created): nothing was sent, nothing counts."""
    await masstasks.update_task(session, task_id, status=MassTaskStatus.FAILED, finished_at=now)
    await masstasks.release_targets(
        session, task_id, (MassTargetStatus.PENDING, MassTargetStatus.UNSENT), MassTargetStatus.FAILED
    )
