"""Queue WeCom mass tasks (add_msg_template) and the calls that follow one: each writes outbox rows in the caller's
transaction, like services/outbox/queue.py; only the sender sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import MassContent
from services.outbox.queue import queue_row
from storage.models.outbox import OutboxKind, Priority
from storage.repos import masstasks

MAX_SINGLE_TARGETS: Final = 10_000  # add_msg_template: external_userid
MAX_GROUP_TARGETS: Final = 2000  # add_msg_template: chat_id_list

ChatType = Literal["single", "group"]


async def queue_mass_task(
    session: AsyncSession,
    now: datetime,
    *,
    sender: str,
    chat_type: ChatType,
    targets: Sequence[str],
    content: MassContent,
    key: str | None = None,
    priority: int = Priority.LOW,
    not_before: datetime | None = None,
) -> int:
    """An add_msg_template task from `sender` to customers (single) or customer groups (group); returns the task id.

    Nothing reaches a customer until the member confirms it in WeCom; the sender then tracks the funnel.
    """
    limit = MAX_GROUP_TARGETS if chat_type == "group" else MAX_SINGLE_TARGETS
    unique = list(dict.fromkeys(t for t in targets if t))
    if not 1 <= len(unique) <= limit:
        raise ValueError(f"a {chat_type} mass task goes to 1 to {limit} targets, got {len(unique)}")
    task_id, _ = await _mass_task_row(session, now, sender, chat_type, content, key, priority, not_before, unique)
    return task_id


async def _mass_task_row(
    session: AsyncSession,
    now: datetime,
    sender: str,
    chat_type: ChatType,
    content: MassContent,
    key: str | None,
    priority: int,
    not_before: datetime | None,
    target_ids: Sequence[str],
) -> tuple[int, bool]:
    """The task's outbox row and task (with `target_ids`): (task id, True), or (its id, False) when the same key
    queued it before."""
    payload = {"chat_type": chat_type, **content.to_payload()}
    outbox_id = await queue_row(
        session, now, OutboxKind.MASS_TASK, sender, payload, key=key, priority=priority, not_before=not_before
    )
    existing = await masstasks.task_by_outbox(session, outbox_id)
    if existing is not None:
        return existing.id, False
    task_id = await masstasks.create_task(
        session,
        outbox_id=outbox_id,
        sender=sender,
        chat_type=chat_type,
        text=str(payload["text"]),
        target_ids=target_ids,
        now=now,
    )
    return task_id, True


async def queue_mass_task_from(
    session: AsyncSession,
    now: datetime,
    *,
    sender: str,
    targets: Any,
    content: MassContent,
    key: str,
    priority: int = Priority.LOW,
) -> int:
    """queue_mass_task to the customers whose external_userids a SELECT yields (a campaign's span of up to 10,000):
    they go from the database into the task in one INSERT … SELECT. The SELECT must yield 1 to 10,000 ids."""
    task_id, new = await _mass_task_row(session, now, sender, "single", content, key, priority, None, ())
    if not new:  # the same key queued it before
        return task_id
    added = await masstasks.add_targets_from(session, task_id, "customer", targets)
    if not 1 <= added <= MAX_SINGLE_TARGETS:  # raised inside the caller's transaction: nothing is kept
        raise ValueError(f"a single mass task goes to 1 to {MAX_SINGLE_TARGETS} targets, got {added}")
    return task_id


async def queue_task_followup(
    session: AsyncSession,
    now: datetime,
    kind: Literal[OutboxKind.MASS_POLL, OutboxKind.MASS_RESULTS, OutboxKind.MASS_REMIND, OutboxKind.MASS_CANCEL],
    task_id: int,
    msgid: str,
    *,
    key: str,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """A call about an existing mass task (poll, results page, reminder, cancel); it goes through the sender too."""
    payload = {"task_id": task_id, **(extra or {})}
    priority = Priority.HIGH if kind == OutboxKind.MASS_CANCEL else Priority.NORMAL
    return await queue_row(session, now, kind, msgid, payload, key=key, priority=priority, not_before=not_before)
