"""Mass tasks (add_msg_template) and their per-target funnel; targets count against the monthly cap."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.masstasks import MassTarget, MassTargetStatus, MassTask, MassTaskStatus

# Targets that hold a place under the cap: the task exists in WeCom and the target has not been released.
COUNTED = (MassTargetStatus.UNSENT, MassTargetStatus.SENT)
FINAL = (MassTargetStatus.SENT, MassTargetStatus.NOT_FRIEND, MassTargetStatus.OVER_LIMIT, MassTargetStatus.FAILED)


@dataclass(frozen=True, slots=True)
class TargetResult:
    target_id: str
    status: str
    send_time: datetime | None
    period: str | None = None  # a delivery counts in the period it happened


async def create_task(
    session: AsyncSession,
    *,
    outbox_id: int,
    sender: str,
    chat_type: str,
    text: str,
    target_ids: Sequence[str],
    now: datetime,
) -> int:
    task = MassTask(
        outbox_id=outbox_id,
        sender=sender,
        chat_type=chat_type,
        status=MassTaskStatus.PENDING,
        text=text,
        queued_at=now,
        remind_times=[],
        polls=0,
    )
    session.add(task)
    await session.flush()
    target_type = "group" if chat_type == "group" else "customer"
    rows = [
        {"task_id": task.id, "target_type": target_type, "target_id": t, "status": MassTargetStatus.PENDING}
        for t in dict.fromkeys(target_ids)
    ]
    if rows:
        # Core, not the ORM's bulk path: a campaign task carries up to 10,000 targets and needs no identity map.
        await session.execute(insert(cast(Table, MassTarget.__table__)), rows)
    return task.id


async def add_targets_from(session: AsyncSession, task_id: int, target_type: str, target_ids: Any) -> int:
    """A task's targets from one SELECT of target ids (first column), in its order, without passing through Python;
    empty ids and repeats are dropped. Returns how many were added."""
    source = target_ids.subquery()
    chosen = select(
        literal(task_id, MassTarget.task_id.type),
        literal(target_type, MassTarget.target_type.type),
        source.c[0],
        literal(MassTargetStatus.PENDING.value, MassTarget.status.type),
    ).where(source.c[0] != "")
    statement = (
        (pg_insert if dialect_of(session) == "postgresql" else sqlite_insert)(MassTarget)
        .from_select(["task_id", "target_type", "target_id", "status"], chosen)
        .on_conflict_do_nothing(index_elements=["task_id", "target_id"])
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def task_by_id(session: AsyncSession, task_id: int) -> MassTask | None:
    return await session.get(MassTask, task_id)


async def task_by_outbox(session: AsyncSession, outbox_id: int) -> MassTask | None:
    return (await session.execute(select(MassTask).where(MassTask.outbox_id == outbox_id))).scalar_one_or_none()


async def tasks_by_outbox(session: AsyncSession, outbox_ids: Collection[int]) -> dict[int, MassTask]:
    if not outbox_ids:
        return {}
    rows = (await session.execute(select(MassTask).where(MassTask.outbox_id.in_(list(outbox_ids))))).scalars()
    return {t.outbox_id: t for t in rows}


async def targets_of(session: AsyncSession, task_id: int, statuses: Collection[str] | None = None) -> list[MassTarget]:
    stmt = select(MassTarget).where(MassTarget.task_id == task_id).order_by(MassTarget.id)
    if statuses is not None:
        stmt = stmt.where(MassTarget.status.in_(list(statuses)))
    return list((await session.execute(stmt)).scalars())


async def targets_of_tasks(
    session: AsyncSession, task_ids: Collection[int], statuses: Collection[str]
) -> dict[int, list[MassTarget]]:
    """targets_of for many tasks in one query (a claim loads every task of its batch at once)."""
    found: dict[int, list[MassTarget]] = {task_id: [] for task_id in task_ids}
    if not task_ids:
        return found
    stmt = (
        select(MassTarget)
        .where(MassTarget.task_id.in_(list(task_ids)), MassTarget.status.in_(list(statuses)))
        .order_by(MassTarget.task_id, MassTarget.id)
    )
    for target in (await session.execute(stmt)).scalars():
        found[target.task_id].append(target)
    return found


async def cap_usage(session: AsyncSession, target_ids: Collection[str], period: str) -> dict[str, int]:
    """How many mass messages each target holds under the cap in `period` (all tasks, all senders)."""
    if not target_ids:
        return {}
    stmt = (
        select(MassTarget.target_id, func.count())
        .where(
            MassTarget.target_id.in_(list(target_ids)),
            MassTarget.period == period,
            MassTarget.status.in_(COUNTED),
        )
        .group_by(MassTarget.target_id)
    )
    return {str(t): int(n) for t, n in (await session.execute(stmt)).all()}


async def set_targets(
    session: AsyncSession, task_id: int, target_ids: Collection[str], status: str, period: str | None = None
) -> None:
    if not target_ids:
        return
    values: dict[str, object] = {"status": status}
    if period is not None:
        values["period"] = period
    await session.execute(
        update(MassTarget)
        .where(MassTarget.task_id == task_id, MassTarget.target_id.in_(list(target_ids)))
        .values(**values)
    )


async def release_targets(session: AsyncSession, task_id: int, from_statuses: Collection[str], status: str) -> None:
    await session.execute(
        update(MassTarget)
        .where(MassTarget.task_id == task_id, MassTarget.status.in_(list(from_statuses)))
        .values(status=status)
    )


async def apply_results(session: AsyncSession, task_id: int, results: Sequence[TargetResult]) -> None:
    """Store WeCom's per-target results."""
    for result in results:
        values: dict[str, object] = {"status": result.status, "send_time": result.send_time}
        if result.period is not None:
            values["period"] = result.period
        await session.execute(
            update(MassTarget)
            .where(MassTarget.task_id == task_id, MassTarget.target_id == result.target_id)
            .values(**values)
        )


async def update_task(session: AsyncSession, task_id: int, **values: object) -> None:
    await session.execute(update(MassTask).where(MassTask.id == task_id).values(**values))


async def linked_msgids(session: AsyncSession, msgids: Collection[str]) -> set[str]:
    """Which of these WeCom msgids already belong to one of our tasks."""
    if not msgids:
        return set()
    rows = await session.execute(select(MassTask.msgid).where(MassTask.msgid.in_(list(msgids))))
    return {str(m) for m in rows.scalars() if m}


async def list_tasks(session: AsyncSession, limit: int = 50, status: str | None = None) -> list[MassTask]:
    stmt = select(MassTask).order_by(MassTask.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(MassTask.status == status)
    return list((await session.execute(stmt)).scalars())


async def count_tasks(session: AsyncSession, status: str | None = None) -> int:
    """How many tasks `list_tasks` would show without its limit."""
    stmt = select(func.count()).select_from(MassTask)
    if status:
        stmt = stmt.where(MassTask.status == status)
    return int(await session.scalar(stmt) or 0)


async def target_counts(session: AsyncSession, task_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """Per task, how many targets sit in each status: the delivered end of the funnel."""
    counts: dict[int, dict[str, int]] = {t: {} for t in task_ids}
    if not task_ids:
        return counts
    stmt = (
        select(MassTarget.task_id, MassTarget.status, func.count())
        .where(MassTarget.task_id.in_(list(task_ids)))
        .group_by(MassTarget.task_id, MassTarget.status)
    )
    for task_id, status, n in (await session.execute(stmt)).all():
        counts[int(task_id)][str(status)] = int(n)
    return counts
