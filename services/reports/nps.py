"""NPS trend by month: answered NPS surveys (0-10) per month of the answer, scoped by the Viewer.

Promoters answer 9-10, passives 7-8, detractors 0-6; NPS = %promoters - %detractors, from -100 to 100."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, customer_scope
from services.reports.months import Table, last_months, month_key, month_start
from storage.models.customers import Customer
from storage.models.surveys import Survey, SurveyKind, SurveyStatus


async def nps_by_month(session: AsyncSession, viewer: Viewer, now: datetime, zone: str, months: int = 12) -> Table:
    labels = [month_key(month_start(m, zone), zone) for m in last_months(now, zone, months)]
    first = month_start(last_months(now, zone, months)[0], zone)
    answers = await session.execute(
        select(Survey.answered_at, Survey.score)
        .join(Customer, Customer.id == Survey.customer_id)
        .where(
            customer_scope(viewer),
            Survey.kind == SurveyKind.NPS,
            Survey.status == SurveyStatus.ANSWERED,
            Survey.score.is_not(None),
            Survey.answered_at >= first,
        )
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # promoters, passives, detractors
    for at, score in answers:
        if at is None or score is None:
            continue
        counts[month_key(at, zone)][0 if score >= 9 else 1 if score >= 7 else 2] += 1
    header = ["月份", "回答数", "推荐者", "被动者", "贬损者", "NPS"]
    rows, values = [], []
    for label in labels:
        promoters, passives, detractors = counts.get(label, [0, 0, 0])
        total = promoters + passives + detractors
        nps = round(100 * (promoters - detractors) / total) if total else None
        rows.append([label, total, promoters, passives, detractors, "" if nps is None else nps])
        values.append(nps)
    return Table(header, rows, {"kind": "line", "labels": labels, "series": [{"name": "NPS", "values": values}]})
