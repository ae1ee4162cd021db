"""Campaign guards over one batch of the audience: opt-out, dedupe, frequency and monthly caps, holdout, the text."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import facts as facts_of
from campaigns.document import REP_PATHS, CampaignDocument
from campaigns.policy import CampaignPolicy
from campaigns.templates import TemplateProblem, render
from storage.models.campaigns import Campaign, CampaignRun, SendOutcome
from storage.repos import campaigns as rows
from storage.repos import masstasks


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
