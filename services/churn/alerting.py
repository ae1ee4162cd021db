"""Churn alerts for one chunk's crossings, set-based: one claim statement, one batch of outbox rows, one link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.churn.model import Assessment
from services.service.alert_batch import MemberAlert, alert_members
from services.service.alerts import Alert, quote_customer_text
from storage.repos import outbox_batch
from storage.repos.churn import CustomerRow

ALERT_KIND: Final = "churn"


def alertable(customer: CustomerRow, followed: bool) -> bool:
    """Only while the rep can still act ("before they delete the rep"), and only when someone owns the customer."""
    return followed and customer.lost_at is None and bool(customer.owner_userid)


async def alert_crossings(
    session: AsyncSession, crossings: Sequence[tuple[CustomerRow, Assessment]], now: datetime
) -> set[int]:
    """Tell each crossing customer's owner rep, once per customer per day (a `service_alerts` key): two processes
    scoring the same day cannot both alert. Returns the customers alerted."""
    day = now.date().isoformat()
    keyed = [(f"churn:{c.id}:{day}", c, result) for c, result in crossings if c.owner_userid]
    claimed = await outbox_batch.claim_alerts(
        session, [(key, ALERT_KIND, c.id, c.owner_userid or "") for key, c, _ in keyed], now
    )
    todo = [(key, c, result) for key, c, result in keyed if key[:200] in claimed]
    alerts = [MemberAlert(c.owner_userid or "", churn_alert(c, result), key) for key, c, result in todo]
    outbox_ids = await alert_members(session, now, alerts)
    await outbox_batch.link_alerts(
        session, {claimed[key[:200]]: oid for (key, _, _), oid in zip(todo, outbox_ids, strict=True)}
    )
    return {c.id for _, c, _ in todo}


def churn_alert(customer: CustomerRow, result: Assessment) -> Alert:
    who = quote_customer_text(customer.name, 30) or "（未命名）"
    lines = [f"客户{who}（ID {customer.id}）流失风险 {round(result.risk * 100)}%，原因："]
    lines += [f"{n}. {reason}" for n, reason in enumerate(result.reasons, start=1)]
    lines.append(f"建议：{result.action}")
    return Alert(title="客户流失预警", body="\n".join(lines))
