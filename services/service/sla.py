"""The SLA tick: warn the owner rep before a deadline, escalate level by level after it, each alert exactly once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.service import alert_text as sla_alerts
from services.service import waits
from services.service.alerts import Alert, alert_member
from services.service.policy import ServiceRules
from storage.models.service import ChatWait
from storage.repos import service_alerts
from storage.repos import waits as waits_repo

log = logging.getLogger(__name__)

# chat_waits.stage: 0 nothing sent yet; 1 the owner rep was warned; 1 + n escalation level n was told
# (2 = the managers); OVERDUE once the resolution deadline passed with the wait still open (terminal).
STAGE_NEW: Final = 0
STAGE_WARNED: Final = 1
STAGE_ESCALATED: Final = 2
STAGE_OVERDUE: Final = 100

# Called once per wait that outlives its policy's resolution time, in the tick's transaction: where an overdue
# question becomes a ticket (services/tickets/opening.open_ticket, wired at integration in bot/app.py).
OverdueHook = Callable[[AsyncSession, ChatWait, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TickReport:
    closed_by_bot: int = 0
    steps: int = 0
    alerts: int = 0


@dataclass(frozen=True, slots=True)
class _Step:
    stage: int
    next_check_at: datetime | None
    kind: str = ""  # sla_warning | sla_escalation | sla_overdue | "" (only reschedule)
    level: int = 0
    recipients: tuple[str, ...] = ()


async def tick(
    sessions: async_sessionmaker[AsyncSession],
    rules: ServiceRules,
    now: datetime,
    *,
    on_overdue: OverdueHook | None = None,
    batch: int = 200,
    max_rounds: int = 50,
) -> TickReport:
    """One pass: close what the FAQ answered, then take every due wait through its due steps. Only rows whose
    `next_check_at` has come are read (partial index), each batch in its own transaction."""
    async with sessions.begin() as session:
        closed = await waits.close_answered_by_bot(session, rules.calendar)
    steps = alerts = 0
    for _ in range(max_rounds):
        async with sessions.begin() as session:
            due = await waits_repo.due(session, now, batch)
            round_steps = 0
            for wait in due:
                done, sent = await _run_due_steps(session, rules, wait, now, on_overdue)
                round_steps += done
                alerts += sent
        steps += round_steps
        if len(due) < batch or round_steps == 0:
            break
    return TickReport(closed_by_bot=closed, steps=steps, alerts=alerts)


async def _run_due_steps(
    session: AsyncSession, rules: ServiceRules, wait: ChatWait, now: datetime, on_overdue: OverdueHook | None
) -> tuple[int, int]:
    """Every step whose time has come, in order (a tick that ran late still sends each alert once)."""
    stage, check = wait.stage, wait.next_check_at
    if stage == STAGE_NEW and wait.chat_type == "kf":
        # A kf session is often taken by a servicer after the question: warn whoever holds it now.
        owner = await waits.owner_for(session, wait.chat_type, wait.chat_id, wait.customer_id)
        if owner != wait.owner_userid:
            await waits_repo.set_owner(session, wait.id, owner)
            wait.owner_userid = owner
    steps = sent = 0
    context: sla_alerts.WaitContext | None = None
    while check is not None and check <= now and stage != STAGE_OVERDUE:
        step = _next_step(rules, wait, stage, check)
        # Compare-and-set on the stage: a member's reply or another tick that got there first wins.
        if not await waits_repo.advance(session, wait.id, stage, step.stage, step.next_check_at):
            break
        steps += 1
        if step.kind == "sla_overdue":
            if (
                await service_alerts.claim(
                    session, f"wait:{wait.id}:overdue", step.kind, wait.customer_id, wait.owner_userid or "", now
                )
                and on_overdue is not None
            ):
                await on_overdue(session, wait, now)
        elif step.kind:
            context = context or await sla_alerts.wait_context(session, wait)
            alert = _render(rules, wait, context, step, now)
            sent += await _send(session, wait, step, alert, now)
        stage, check = step.stage, step.next_check_at
    return steps, sent


def _next_step(rules: ServiceRules, wait: ChatWait, stage: int, check: datetime) -> _Step:
    calendar = rules.calendar
    if stage == STAGE_NEW:
        owner = (wait.owner_userid,) if wait.owner_userid else rules.on_duty
        return _Step(STAGE_WARNED, wait.due_at, "sla_warning", 0, owner)
    recipients = rules.level(stage)
    if recipients is not None:
        # The next level is due escalate_every business seconds after this one was due, not after the tick ran.
        following = calendar.add_business_time(check, rules.escalate_every_s)
        return _Step(stage + 1, following, "sla_escalation", stage, recipients)
    overdue_at = calendar.add_business_time(wait.waiting_since, rules.policy_named(wait.policy).resolution_s)
    if check < overdue_at:
        return _Step(stage, overdue_at)
    return _Step(STAGE_OVERDUE, None, "sla_overdue")


def _render(rules: ServiceRules, wait: ChatWait, context: sla_alerts.WaitContext, step: _Step, now: datetime) -> Alert:
    if step.kind == "sla_warning":
        return sla_alerts.warning(wait, context, now, rules.calendar)
    return sla_alerts.escalation(wait, context, step.level, now, rules.calendar)


async def _send(session: AsyncSession, wait: ChatWait, step: _Step, alert: Alert, now: datetime) -> int:
    """One alert per recipient, each under its own key, in the same transaction as the stage change."""
    if not step.recipients:
        log.info("wait %s reached %s (level %s) but nobody is configured to hear it", wait.id, step.kind, step.level)
    sent = 0
    for userid in dict.fromkeys(step.recipients):
        key = f"wait:{wait.id}:stage{step.stage}:{userid}"
        alert_id = await service_alerts.claim(session, key, step.kind, wait.customer_id, userid, now)
        if alert_id is None:
            continue
        queued = await alert_member(session, now, userid, alert, key=key)
        await service_alerts.link_outbox(session, alert_id, queued.outbox_id)
        sent += 1
    return sent
