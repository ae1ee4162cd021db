"""The funnel of a campaign (or one run) and its measured lift against the holdout."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.campaigns import CampaignSend, SendOutcome
from storage.models.customers import Customer
from storage.models.masstasks import MassTarget, MassTargetStatus, MassTask, MassTaskStatus
from storage.models.messages import Message, SenderKind
from storage.models.purchases import Purchase
from storage.repos import campaigns as rows

REPLY_WINDOW: Final = timedelta(hours=72)
# Lift is shown only when each group could show a difference: enough people and enough conversions to count.
MIN_GROUP: Final = 30
MIN_EVENTS: Final = 5
Z95: Final = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Lift:
    sent_rate: float
    holdout_rate: float
    lift: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class Funnel:
    audience: int
    held_out: int
    skipped: dict[str, int]
    selected: int
    queued: int
    in_tasks: int
    tasks_created: int
    tasks_confirmed: int
    tasks_unconfirmed: int  # created in WeCom, the rep has not sent it (reminded up to 3 a day, never resent)
    delivered: int
    replied: int
    converted: int
    holdout_converted: int
    lift: Lift | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lift"] = self.lift.to_dict() if self.lift is not None else None
        return data


async def funnel(
    session: AsyncSession, *, campaign_id: int, attribution_days: int, run_id: int | None = None
) -> Funnel:
    scope = [CampaignSend.campaign_id == campaign_id]
    if run_id is not None:
        scope.append(CampaignSend.run_id == run_id)
    counts = await rows.outcome_counts(session, campaign_id=campaign_id, run_id=run_id)
    skipped = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith(f"{SendOutcome.SKIPPED}:")}
    sent = CampaignSend.outcome.in_((SendOutcome.QUEUED, SendOutcome.TASK))
    tasks = select(CampaignSend.mass_task_id).where(*scope, CampaignSend.mass_task_id.is_not(None)).distinct()
    created, confirmed, unconfirmed = (
        await session.execute(
            select(
                func.count().filter(MassTask.status != MassTaskStatus.PENDING),
                func.count().filter(MassTask.status == MassTaskStatus.CONFIRMED),
                func.count().filter(MassTask.status == MassTaskStatus.CREATED),
            ).where(MassTask.id.in_(tasks))
        )
    ).one()
    delivered = await session.scalar(
        select(func.count())
        .select_from(CampaignSend)
        .join(Customer, Customer.id == CampaignSend.customer_id)
        .where(*scope, CampaignSend.outcome == SendOutcome.TASK)
        .where(
            exists().where(
                MassTarget.task_id == CampaignSend.mass_task_id,
                MassTarget.target_id == Customer.external_userid,
                MassTarget.status == MassTargetStatus.SENT,
            )
        )
    )
    replied = await _within(session, scope, sent, MESSAGE_EVENT, REPLY_WINDOW)
    window = timedelta(days=attribution_days)
    converted = await _within(session, scope, sent, PURCHASE_EVENT, window)
    holdout = CampaignSend.outcome == SendOutcome.HELD_OUT
    holdout_converted = await _within(session, scope, holdout, PURCHASE_EVENT, window)
    in_tasks = counts.get(SendOutcome.TASK, 0)
    queued = counts.get(SendOutcome.QUEUED, 0)
    held = counts.get(SendOutcome.HELD_OUT, 0)
    return Funnel(
        audience=sum(counts.values()),
        held_out=held,
        skipped=skipped,
        selected=counts.get(SendOutcome.SELECTED, 0),
        queued=queued,
        in_tasks=in_tasks,
        tasks_created=int(created or 0),
        tasks_confirmed=int(confirmed or 0),
        tasks_unconfirmed=int(unconfirmed or 0),
        delivered=int(delivered or 0),
        replied=replied,
        converted=converted,
        holdout_converted=holdout_converted,
        lift=measured_lift(converted, queued + in_tasks, holdout_converted, held),
    )


async def _within(session: AsyncSession, scope: list[Any], group: Any, event: Any, window: timedelta) -> int:
    """Sends in `group` followed by the customer's event (a message, a purchase) within `window`.

    The first event after each send comes from SQL; the window is compared here, since interval arithmetic on
    timestamps differs between SQLite and PostgreSQL."""
    time_column, customer_column, *extra = event
    first = (
        select(func.min(time_column))
        .where(customer_column == CampaignSend.customer_id, time_column > CampaignSend.created_at, *extra)
        .correlate(CampaignSend)
        .scalar_subquery()
    )
    found = 0
    for created, at in await session.execute(select(CampaignSend.created_at, first).where(*scope, group)):
        if at is not None and _utc(at) - _utc(created) <= window:
            found += 1
    return found


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


MESSAGE_EVENT: Final = (Message.sent_at, Message.customer_id, Message.sender_kind == SenderKind.CUSTOMER)
PURCHASE_EVENT: Final = (Purchase.purchased_at, Purchase.customer_id)


def measured_lift(sent_events: int, sent_n: int, held_events: int, held_n: int) -> Lift | None:
    """Conversion(sent) - conversion(holdout) with a 95 % interval (two-proportion, unpooled standard error);
    None when either group is too small to say anything."""
    if min(sent_n, held_n) < MIN_GROUP or sent_events + held_events < MIN_EVENTS:
        return None
    p1, p2 = sent_events / sent_n, held_events / held_n
    se = math.sqrt(p1 * (1 - p1) / sent_n + p2 * (1 - p2) / held_n)
    diff = p1 - p2
    return Lift(p1, p2, diff, diff - Z95 * se, diff + Z95 * se)
