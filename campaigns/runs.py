"""Campaign runs: a firing becomes one run (UNIQUE per scheduled time), whose audience is walked in keyset batches
through the guards into `campaign_sends` (one INSERT … SELECT each, campaigns/selection.py), then dispatched as mass
tasks or outbox rows once quiet hours allow.

Every step commits with its progress, so a crash resumes where it stopped and a customer is never sent twice: a
batch's sends and its cursor commit together, and a send turns into a task or an outbox row in the same transaction
that marks it (the outbox key is derived from the run and the send).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.audience import CampaignBroken, audience_condition
from campaigns.dispatch import dispatch_chunk
from campaigns.document import REP_PATHS, CampaignDocument
from campaigns.group_path import dispatch_groups
from campaigns.policy import CampaignPolicy
from campaigns.schedule import due_firing
from campaigns.selection import select_batch
from storage.models.campaigns import Campaign, CampaignRun, CampaignStatus, RunStatus
from storage.models.customers import Customer
from storage.planner import prefer_index_walks
from storage.repos import campaign_spans as spans
from storage.repos import campaigns as rows

log = logging.getLogger(__name__)


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
            await spans.drop_audience(session, run_id)
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
            await spans.drop_audience(session, run_id)
        return True
    return True


def _aware(moment: datetime, like: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


async def _select_all(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    now: datetime,
    policy: CampaignPolicy,
) -> None:
    cursor = run.cursor
    async with sessions() as session, session.begin():
        # Drawn once per run (and again only past the cursor when nothing is left of it, e.g. a run that was walking
        # before campaign_audience existed): each batch then walks an index range instead of the filter.
        if not await spans.audience_left(session, run.id, cursor):
            condition = await audience_condition(session, document, _aware(run.scheduled_for, now), now, policy.zone)
            live = and_(Customer.merged_into_id.is_(None), condition, Customer.id > cursor)
            await prefer_index_walks(session)
            await spans.draw_audience(session, run.id, live)
    while True:
        async with sessions() as session, session.begin():
            fresh = await session.get(Campaign, campaign.id)
            if fresh is None or fresh.status != CampaignStatus.ACTIVE:
                return
            batch = await select_batch(session, run, campaign, document, cursor, now, policy)
            cursor = batch.last_id
            done = batch.size < policy.batch_size
            status = RunStatus.DISPATCHING if done else RunStatus.SELECTING
            await rows.update_run(session, run.id, cursor=cursor, status=status)
            if done:
                await spans.drop_audience(session, run.id)
        if done:
            return


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
            while await dispatch_chunk(sessions, run, campaign, document, owner, now, policy):
                pass
    async with sessions() as session, session.begin():
        await rows.update_run(session, run.id, status=RunStatus.DONE, finished_at=now)
        if document.kind == "broadcast":
            await rows.set_status(session, campaign.id, CampaignStatus.FINISHED, now)
    log.info("campaign %s (#%d) run %d dispatched", campaign.name, campaign.id, run.id)
