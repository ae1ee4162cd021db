"""The new_contact trigger: when a customer adds a rep, the welcome automation's text goes out through
`externalcontact/send_welcome_msg` on the callback's WelcomeCode, inside WeCom's 20 s (WECOM.md §3.6).

The text is picked by the channel `state` the customer came from (`state_messages`, else `message`). The same
guards as any marketing send apply except quiet hours (the customer is adding the rep right now, and the code would
expire before they end). Each day's welcomes of a campaign are one run, so the funnel counts them like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.audience import audience_condition
from campaigns.document import CampaignDocument
from campaigns.guards import guard_batch
from campaigns.policy import CampaignPolicy
from services.outbox.messages import Text
from services.outbox.queue import queue_welcome_message
from storage.models.campaigns import Campaign, CampaignRun, CampaignSend, RunStatus, SendOutcome
from storage.models.customers import Customer
from storage.repos import campaigns as rows

log = logging.getLogger(__name__)
WELCOME_CODE_TTL: Final = timedelta(seconds=20)  # "20秒内" after the add_external_contact callback


async def welcome_new_contact(
    session: AsyncSession,
    policy: CampaignPolicy,
    *,
    external_userid: str,
    member_userid: str,
    state: str,
    welcome_code: str,
    received_at: datetime,
    now: datetime,
) -> str:
    """Queue the welcome of the first active new_contact campaign whose audience takes this customer; returns the
    outcome ("queued", a skip reason, or "" when no campaign applies)."""
    if not welcome_code:
        return ""
    customer = await session.scalar(select(Customer).where(Customer.external_userid == external_userid))
    if customer is None or customer.merged_into_id is not None:
        return ""
    for campaign in await rows.active_campaigns(session):
        document = CampaignDocument.model_validate(campaign.definition)
        if document.trigger is None or document.trigger.event != "new_contact":
            continue
        if not await _takes(session, document, customer.id, now, policy.zone):
            continue
        return await _send(session, policy, campaign, document, customer.id, member_userid, state, welcome_code,
                           received_at, now)  # fmt: skip
    return ""


async def _takes(session: AsyncSession, document: CampaignDocument, customer_id: int, now: datetime, zone: str) -> bool:
    """Whether the campaign's segment (if any) selects this customer; the trigger itself is this callback."""
    plain = document.model_copy(update={"trigger": None})
    condition = await audience_condition(session, plain, now, now, zone)
    found = await session.scalar(select(Customer.id).where(Customer.id == customer_id, condition))
    return found is not None


async def _send(
    session: AsyncSession,
    policy: CampaignPolicy,
    campaign: Campaign,
    document: CampaignDocument,
    customer_id: int,
    member_userid: str,
    state: str,
    welcome_code: str,
    received_at: datetime,
    now: datetime,
) -> str:
    run = await _run_of_today(session, campaign.id, now, policy.zone)
    done = await session.scalar(
        select(CampaignSend.id).where(CampaignSend.run_id == run.id, CampaignSend.customer_id == customer_id)
    )
    if done is not None:
        return "already_welcomed"  # they added a second rep today: one welcome a day is enough
    text_source = document.state_messages.get(state, document.message)
    chosen = document.model_copy(update={"message": text_source})
    (send,) = await guard_batch(session, run, campaign, chosen, [customer_id], now, policy)
    send["owner_userid"] = member_userid  # the rep they added sends it, whoever owns them
    outcome = send["outcome"]
    if outcome == SendOutcome.SELECTED:
        expires = received_at + WELCOME_CODE_TTL
        send["outbox_id"] = await queue_welcome_message(
            session, now, welcome_code, expires, Text(send["text"]), key=f"welcome:{welcome_code}"
        )
        send["outcome"] = SendOutcome.QUEUED
    else:
        send["outbox_id"] = None
    await rows.insert_sends(session, [send])
    reason = str(send["reason"] or send["outcome"])
    log.info("campaign %s (#%d) welcome to customer %d via %s: %s", campaign.name, campaign.id, customer_id,
             member_userid, reason)  # fmt: skip
    return reason


async def _run_of_today(session: AsyncSession, campaign_id: int, now: datetime, zone: str) -> CampaignRun:
    """The day's run that collects this campaign's welcomes (local midnight), created done: no tick walks it."""
    local = ZoneInfo(zone)
    day = datetime.combine(now.astimezone(local).date(), time(0), tzinfo=local)
    run_id = await rows.insert_run_if_new(session, campaign_id, day, now, now)
    if run_id is not None:
        await rows.update_run(session, run_id, status=RunStatus.DONE, finished_at=now)
    run = await session.scalar(
        select(CampaignRun).where(CampaignRun.campaign_id == campaign_id, CampaignRun.scheduled_for == day)
    )
    assert run is not None, "inserted or found just above"
    return run
