"""The 概览 dashboard's series, within the viewer's scope: new customers, messages, tickets by status, CSAT."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, customer_scope, ticket_scope
from storage.models.customers import Customer
from storage.models.messages import Message
from storage.models.surveys import Survey, SurveyKind, SurveyStatus
from storage.models.tickets import Ticket

DAYS = 30


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: list[str]
    new_customers: list[int]
    messages: list[int]
    csat: list[float | None]
    tickets_by_status: dict[str, int]
    totals: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "new_customers": self.new_customers,
            "messages": self.messages,
            "csat": self.csat,
            "tickets_by_status": self.tickets_by_status,
            "totals": self.totals,
        }


def _day_keys(now: datetime, zone: ZoneInfo) -> list[date]:
    today = now.astimezone(zone).date()
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


async def build_dashboard(session: AsyncSession, viewer: Viewer, now: datetime, timezone: str) -> Dashboard:
    """Per local day over the last 30 days; bucketed in Python so SQLite and PostgreSQL agree on the zone."""
    zone = ZoneInfo(timezone)
    days = _day_keys(now, zone)
    start = datetime.combine(days[0], datetime.min.time(), zone)
    scope = customer_scope(viewer)
    joined = await session.execute(select(Customer.first_seen_at).where(scope, Customer.first_seen_at >= start))
    new_per_day = Counter(t.astimezone(zone).date() for t in joined.scalars())
    said = await session.execute(
        select(Message.sent_at)
        .join(Customer, Customer.id == Message.customer_id)
        .where(scope, Message.sent_at >= start)
    )
    messages_per_day = Counter(t.astimezone(zone).date() for t in said.scalars())
    scores: dict[date, list[int]] = defaultdict(list)
    answered = await session.execute(
        select(Survey.answered_at, Survey.score)
        .join(Customer, Customer.id == Survey.customer_id)
        .where(scope, Survey.kind == SurveyKind.CSAT, Survey.status == SurveyStatus.ANSWERED)
        .where(Survey.answered_at >= start)
    )
    for at, score in answered.all():
        if at is not None and score is not None:
            scores[at.astimezone(zone).date()].append(int(score))
    by_status = await session.execute(
        select(Ticket.status, func.count()).where(ticket_scope(viewer)).group_by(Ticket.status)
    )
    total_customers = await session.execute(select(func.count()).select_from(Customer).where(scope))
    return Dashboard(
        days=[d.strftime("%m-%d") for d in days],
        new_customers=[new_per_day.get(d, 0) for d in days],
        messages=[messages_per_day.get(d, 0) for d in days],
        csat=[round(sum(scores[d]) / len(scores[d]), 2) if scores.get(d) else None for d in days],
        tickets_by_status={str(s): int(n) for s, n in by_status.all()},
        totals={"customers": int(total_customers.scalar_one())},
    )
