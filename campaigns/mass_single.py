"""mass_single dispatch of a text shared by many customers: one owner's span of up to 10,000 sends becomes one task
in a few set-based statements (range updates), instead of loading and marking each send by id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.policy import CampaignPolicy
from services.outbox.mass_queue import queue_mass_task_from
from services.outbox.messages import MassContent
from storage.models.campaigns import Campaign, CampaignRun, CampaignStatus, SendOutcome
from storage.models.outbox import Priority
from storage.repos import campaign_spans as spans


async def dispatch_same_text(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    owner: str,
    now: datetime,
    policy: CampaignPolicy,
) -> bool:
    """Turn the owner's next span (first text, up to task_max_targets sends) into one task; False when none is left.

    The task and the marks commit together, as in `dispatch._as_task`; opt-outs are checked again first.
    """
    async with sessions() as session, session.begin():
        fresh = await session.get(Campaign, campaign.id)
        if fresh is None or fresh.status != CampaignStatus.ACTIVE:
            return False
        span = await spans.next_span(session, run.id, owner, policy.task_max_targets)
        if span is None:
            return False
        await spans.skip_opted_out(session, span)
        if not await spans.any_left(session, span):
            return True  # everyone in the span opted out meanwhile
        task_id = await queue_mass_task_from(
            session,
            now,
            sender=owner,
            targets=spans.external_ids(span),
            content=MassContent(span.text),
            key=f"campaign:{run.id}:{span.lo}",
            priority=Priority.LOW,
        )
        await spans.mark_span(session, span, outcome=SendOutcome.TASK, mass_task_id=task_id)
    return True
