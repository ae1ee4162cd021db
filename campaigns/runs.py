"""Campaign runs: a firing becomes one run (UNIQUE per scheduled time), whose audience is walked in keyset batches
through the guards into `campaign_sends`, then dispatched as mass tasks or outbox rows once quiet hours allow.

Every step commits with its progress, so a crash resumes where it stopped and a customer is never sent twice: a
batch's sends and its cursor commit together, and a send turns into a task or an outbox row in the same transaction
that marks it (the outbox key is derived from the run and the send).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import facts as facts_of
from campaigns.document import REP_PATHS, CampaignDocument
from campaigns.group_path import dispatch_groups
from campaigns.oa_path import as_oa_templates
from campaigns.policy import CampaignPolicy
from campaigns.schedule import due_firing
from campaigns.segment_filter import Node, parse_filter
from campaigns.segment_sql import Moment, compile_node
from campaigns.templates import TemplateProblem, render
from campaigns.triggers import trigger_condition
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_app_message, queue_kf_reply, queue_mass_task
from services.service.followups import FollowupError, add_followup
from storage.models.campaigns import Campaign, CampaignRun, CampaignSend, CampaignStatus, RunStatus, SendOutcome
from storage.models.customers import Customer
from storage.models.outbox import Priority
from storage.repos import campaigns as rows
from storage.repos import masstasks
from storage.repos import segments as segment_rows

log = logging.getLogger(__name__)
KF_WINDOW = timedelta(hours=48)
KF_QUOTA = 5
REMINDER_LINES = 30  # customers named in one member reminder; the rest are counted


class CampaignBroken(Exception):
    """A campaign that can no longer run as defined (its saved segment was deleted ...)."""


@dataclass(slots=True)
class TickSummary:
    fired: list[int] = field(default_factory=list)
    advanced: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"fired": self.fired, "advanced": self.advanced}


async def tick(sessions: async_sessionmaker[AsyncSession], now: datetime, policy: CampaignPolicy) -> TickSummary:
    """The scheduled job: start a run for every due firing, then move every live run forward."""
    summary = TickSummary()
    async with sessions() as session, session.begin():
        for campaign in await rows.active_campaigns(session):
            try:
                run_id = await fire_if_due(session, campaign, now, policy)
            except ValidationError as exc:
                # One unreadable definition (written by another version) must not stop every other campaign.
                log.error("campaign %s (#%d) has an unreadable definition, skipped: %s", campaign.name, campaign.id,
                          str(exc).splitlines()[0:3])  # fmt: skip
                continue
            if run_id is not None:
                summary.fired.append(run_id)
    async with sessions() as session:
        live = [(r.id, r.campaign_id) for r in await rows.live_runs(session)]
    for run_id, _ in live:
        if await advance(sessions, run_id, now, policy):
            summary.advanced.append(run_id)
    return summary


async def fire_if_due(
    session: AsyncSession, campaign: Campaign, now: datetime, policy: CampaignPolicy, *, force: bool = False
) -> int | None:
    """Create the run of the campaign's due firing (or of `now` when forced); None if not due or already run."""
    document = CampaignDocument.model_validate(campaign.definition)
    if force:
        scheduled: datetime | None = now.replace(microsecond=0)
    else:
        last = await rows.last_scheduled(session, campaign.id)
        scheduled = due_firing(document, campaign.created_at, last, now, policy.zone)
    if scheduled is None:
        return None
    guards = document.guards
    dispatch_after = policy.dispatch_time(
        max(now, scheduled),
        quiet_hours=guards.quiet_hours and document.path not in REP_PATHS,
        skip_holidays=guards.skip_holidays,
    )
    run_id = await rows.insert_run_if_new(session, campaign.id, scheduled, now, dispatch_after)
    if run_id is not None:
        log.info("campaign %s (#%d) fired for %s as run %d", campaign.name, campaign.id, scheduled.isoformat(), run_id)
    return run_id


async def advance(
    sessions: async_sessionmaker[AsyncSession], run_id: int, now: datetime, policy: CampaignPolicy
) -> bool:
    """Select the rest of the audience, then dispatch when allowed; True when the run moved."""
    async with sessions() as session:
        run = await session.get(CampaignRun, run_id)
        campaign = await session.get(Campaign, run.campaign_id) if run is not None else None
    if run is None or campaign is None:
        return False
    if campaign.status == CampaignStatus.CANCELLED:
        async with sessions() as session, session.begin():
            await rows.update_run(session, run_id, status=RunStatus.STOPPED, finished_at=now)
        return True
    if campaign.status != CampaignStatus.ACTIVE:
        return False  # paused: the run waits where it is
    document = CampaignDocument.model_validate(campaign.definition)
    try:
        if run.status == RunStatus.SELECTING:
            await _select_all(sessions, run, campaign, document, now, policy)
        if now < _aware(run.dispatch_after, now):
            return True
        await _dispatch(sessions, run, campaign, document, now, policy)
    except CampaignBroken as exc:
        log.error("campaign %s (#%d) cannot run: %s", campaign.name, campaign.id, exc)
        async with sessions() as session, session.begin():
            await rows.update_run(session, run_id, status=RunStatus.STOPPED, finished_at=now, error=str(exc))
        return True
    return True


def _aware(moment: datetime, like: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


async def audience_condition(
    session: AsyncSession, document: CampaignDocument, scheduled: datetime, now: datetime, zone: str
) -> ColumnElement[bool]:
    node = await _filter_node(session, document)
    condition = compile_node(node, Moment(now, zone)) if node is not None else true()
    if document.trigger is not None:
        today = scheduled.astimezone(ZoneInfo(zone)).date()
        condition = condition & trigger_condition(document.trigger, today, zone)
    return condition


async def _filter_node(session: AsyncSession, document: CampaignDocument) -> Node | None:
    if document.filter is not None:
        return parse_filter(document.filter, "filter")
    if document.segment is None:
        return None
    saved = await segment_rows.by_name_or_id(session, document.segment)
    if saved is None:
        raise CampaignBroken(f"分群「{document.segment}」已不存在 / segment {document.segment!r} no longer exists")
    return parse_filter(saved.filter, "segment")


async def _select_all(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    now: datetime,
    policy: CampaignPolicy,
) -> None:
    cursor = run.cursor
    while True:
        async with sessions() as session, session.begin():
            fresh = await session.get(Campaign, campaign.id)
            if fresh is None or fresh.status != CampaignStatus.ACTIVE:
                return
            condition = await audience_condition(session, document, _aware(run.scheduled_for, now), now, policy.zone)
            ids = list(
                await session.scalars(
                    select(Customer.id)
                    .where(Customer.merged_into_id.is_(None), condition, Customer.id > cursor)
                    .order_by(Customer.id)
                    .limit(policy.batch_size)
                )
            )
            if ids:
                sends = await guard_batch(session, run, campaign, document, ids, now, policy)
                await rows.insert_sends(session, sends)
                cursor = ids[-1]
            done = len(ids) < policy.batch_size
            status = RunStatus.DISPATCHING if done else RunStatus.SELECTING
            await rows.update_run(session, run.id, cursor=cursor, status=status)
        if done:
            return


async def guard_batch(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    ids: list[int],
    now: datetime,
    policy: CampaignPolicy,
) -> list[dict[str, Any]]:
    """Guards in order: opt-out, same-day dedupe, frequency cap, WeCom's monthly cap, holdout; then the text."""
    people = await facts_of.recipients(session, ids, now)
    marketing = document.path not in REP_PATHS
    blocked = await facts_of.opted_out(session, ids) if marketing else set()
    day_start = datetime.combine(
        now.astimezone(ZoneInfo(policy.zone)).date(), datetime.min.time(), ZoneInfo(policy.zone)
    )
    others_today = await rows.sent_by_other_campaigns(session, ids, campaign.id, day_start) if marketing else set()
    recent: dict[int, int] = {}
    if marketing and document.guards.frequency_cap:
        recent = await rows.recent_marketing(session, ids, now - timedelta(days=policy.frequency_days))
    period, cap = policy.month_cap(now)
    usage: dict[str, int] = {}
    if document.path == "mass_single" and policy.monthly_cap:
        usage = await masstasks.cap_usage(session, [p.external_userid for p in people if p.external_userid], period)
    sends: list[dict[str, Any]] = []
    for person in people:
        outcome, reason, text = SendOutcome.SELECTED, "", ""
        if person.customer_id in blocked:
            outcome, reason = SendOutcome.SKIPPED, "opted_out"
        elif document.path in ("mass_single", *REP_PATHS) and not person.owner_userid:
            outcome, reason = SendOutcome.SKIPPED, "no_owner"
        elif marketing and not person.external_userid and document.path != "oa_template":
            outcome, reason = SendOutcome.SKIPPED, "no_external_userid"
        elif person.customer_id in others_today:
            outcome, reason = SendOutcome.SKIPPED, "dedupe"
        elif recent.get(person.customer_id, 0) >= policy.frequency_cap and marketing and document.guards.frequency_cap:
            outcome, reason = SendOutcome.SKIPPED, "frequency_cap"
        elif usage.get(person.external_userid, 0) >= cap:
            outcome, reason = SendOutcome.SKIPPED, "monthly_cap"
        elif marketing and held_out(campaign.id, person.customer_id, document.holdout):
            outcome = SendOutcome.HELD_OUT
        else:
            try:
                text = render(document.message, person.facts)
            except TemplateProblem:
                outcome, reason = SendOutcome.SKIPPED, "template"
        sends.append(
            {
                "run_id": run.id,
                "campaign_id": campaign.id,
                "customer_id": person.customer_id,
                "owner_userid": person.owner_userid,
                "outcome": outcome,
                "reason": reason,
                "text": text,
                "created_at": now,
            }
        )
    return sends


def held_out(campaign_id: int, customer_id: int, share: float) -> bool:
    """A deterministic draw per customer and campaign: the same customer is held out in every run of a campaign."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"holdout:{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


async def _dispatch(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    now: datetime,
    policy: CampaignPolicy,
) -> None:
    if document.path == "mass_group":
        await dispatch_groups(sessions, run, campaign, now)
    else:
        async with sessions() as session:
            owners = await rows.selected_owners(session, run.id)
        for owner in owners:
            while await _dispatch_chunk(sessions, run, campaign, document, owner, now, policy):
                pass
    async with sessions() as session, session.begin():
        await rows.update_run(session, run.id, status=RunStatus.DONE, finished_at=now)
        if document.kind == "broadcast":
            await rows.set_status(session, campaign.id, CampaignStatus.FINISHED, now)
    log.info("campaign %s (#%d) run %d dispatched", campaign.name, campaign.id, run.id)


async def _dispatch_chunk(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    owner: str,
    now: datetime,
    policy: CampaignPolicy,
) -> bool:
    """Turn the next chunk of one owner's selected sends into one task or outbox rows; False when none are left."""
    async with sessions() as session, session.begin():
        fresh = await session.get(Campaign, campaign.id)
        if fresh is None or fresh.status != CampaignStatus.ACTIVE:
            return False
        chunk = await rows.selected_of_owner(session, run.id, owner, policy.task_max_targets)
        if not chunk:
            return False
        # Checked again at dispatch: a customer who said 退订 after the audience was drawn is not sent.
        if document.path not in REP_PATHS:
            late = await facts_of.opted_out(session, [s.customer_id for s, _ in chunk])
            if late:
                await rows.mark_sends(
                    session,
                    [s.id for s, _ in chunk if s.customer_id in late],
                    outcome=SendOutcome.SKIPPED,
                    reason="opted_out",
                )
                chunk = [(s, ext) for s, ext in chunk if s.customer_id not in late]
        if not chunk:
            return True
        if document.path == "mass_single":
            await _as_task(session, run, owner, chunk, now)
        elif document.path == "kf":
            await _as_kf(session, run, chunk, now)
        elif document.path == "oa_template":
            await as_oa_templates(session, run, document, chunk, now)
        elif document.path == "followup":
            await _as_followups(session, run, campaign, owner, chunk, now)
        else:
            await _as_reminder(session, run, campaign, owner, chunk, now)
    return True


async def _as_task(
    session: AsyncSession, run: CampaignRun, owner: str, chunk: list[tuple[CampaignSend, str]], now: datetime
) -> None:
    # One add_msg_template task carries one text: customers whose personal text differs get tasks of their own.
    text = chunk[0][0].text
    same = [(s, ext) for s, ext in chunk if s.text == text]
    task_id = await queue_mass_task(
        session,
        now,
        sender=owner,
        chat_type="single",
        targets=[ext for _, ext in same],
        content=MassContent(text),
        key=f"campaign:{run.id}:{same[0][0].id}",
        priority=Priority.LOW,
    )
    await rows.mark_sends(session, [s.id for s, _ in same], outcome=SendOutcome.TASK, mass_task_id=task_id)


async def _as_kf(session: AsyncSession, run: CampaignRun, chunk: list[tuple[CampaignSend, str]], now: datetime) -> None:
    windows = await facts_of.open_kf_windows(session, [ext for _, ext in chunk], now - KF_WINDOW, KF_QUOTA)
    closed = [s.id for s, ext in chunk if ext not in windows]
    await rows.mark_sends(session, closed, outcome=SendOutcome.SKIPPED, reason="no_window")
    for send, ext in chunk:
        if ext in windows:
            outbox_id = await queue_kf_reply(
                session,
                now,
                windows[ext],
                ext,
                Text(send.text),
                key=f"campaign:{run.id}:{send.customer_id}",
                priority=Priority.LOW,
            )
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.QUEUED, outbox_id=outbox_id)


async def _as_reminder(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    owner: str,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
) -> None:
    lines = [f"· {s.text}" for s, _ in chunk[:REMINDER_LINES]]
    if len(chunk) > REMINDER_LINES:
        lines.append(f"……另有 {len(chunk) - REMINDER_LINES} 位，见 qunke campaign show {campaign.id}")
    body = f"【跟进提醒】{campaign.name}（{len(chunk)} 位客户）\n" + "\n".join(lines)
    outbox_id = await queue_app_message(
        session, now, [owner], Text(body), key=f"campaign:{run.id}:{owner}:{chunk[0][0].id}", priority=Priority.LOW
    )
    await rows.mark_sends(session, [s.id for s, _ in chunk], outcome=SendOutcome.QUEUED, outbox_id=outbox_id)


async def _as_followups(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    owner: str,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
) -> None:
    # One follow-up per customer, due now; the follow-up job reminds the rep and the digest lists it.
    for send, _ in chunk:
        try:
            await add_followup(
                session,
                now,
                customer_id=send.customer_id,
                member_userid=owner,
                due_at=now,
                note=send.text,
                source="campaign",
                created_by=f"campaign:{campaign.id}",
                source_key=f"campaign:{run.id}:{send.customer_id}",
            )
        except FollowupError:  # the owner is no longer a member Qunke knows
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.SKIPPED, reason="no_owner")
            continue
        await rows.mark_sends(session, [send.id], outcome=SendOutcome.QUEUED)
