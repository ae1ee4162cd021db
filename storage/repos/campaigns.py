"""Campaigns, their runs and per-customer sends: intent-named reads and writes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.campaigns import (
    Campaign,
    CampaignRun,
    CampaignSend,
    CampaignStatus,
    RunStatus,
    SendOutcome,
)
from storage.models.customers import Customer

LIVE_RUN = (RunStatus.SELECTING, RunStatus.DISPATCHING)
SENT_OUTCOMES = (SendOutcome.QUEUED, SendOutcome.TASK)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


async def insert_campaign(session: AsyncSession, campaign: Campaign) -> Campaign:
    session.add(campaign)
    await session.flush()
    return campaign


async def by_name_or_id(session: AsyncSession, key: str) -> Campaign | None:
    found = await session.scalar(select(Campaign).where(Campaign.name == key))
    if found is None and key.isdigit():
        found = await session.get(Campaign, int(key))
    return found


async def list_campaigns(session: AsyncSession, status: str | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(await session.scalars(query))


async def active_campaigns(session: AsyncSession) -> list[Campaign]:
    return await list_campaigns(session, CampaignStatus.ACTIVE)


async def set_status(session: AsyncSession, campaign_id: int, status: str, now: datetime) -> None:
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=status, updated_at=now))


async def insert_run_if_new(
    session: AsyncSession, campaign_id: int, scheduled_for: datetime, now: datetime, dispatch_after: datetime
) -> int | None:
    """The run of this firing, if this call created it; None when it exists already (a double firing)."""
    statement = (
        _insert(session, CampaignRun)
        .values(
            campaign_id=campaign_id,
            scheduled_for=scheduled_for,
            status=RunStatus.SELECTING,
            cursor=0,
            started_at=now,
            dispatch_after=dispatch_after,
            error="",
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "scheduled_for"])
        .returning(CampaignRun.id)
    )
    created: int | None = await session.scalar(statement)
    return created


async def last_scheduled(session: AsyncSession, campaign_id: int) -> datetime | None:
    return await session.scalar(
        select(func.max(CampaignRun.scheduled_for)).where(CampaignRun.campaign_id == campaign_id)
    )


async def live_runs(session: AsyncSession) -> list[CampaignRun]:
    return list(
        await session.scalars(select(CampaignRun).where(CampaignRun.status.in_(LIVE_RUN)).order_by(CampaignRun.id))
    )


async def runs_of(session: AsyncSession, campaign_id: int) -> list[CampaignRun]:
    query = select(CampaignRun).where(CampaignRun.campaign_id == campaign_id).order_by(CampaignRun.id)
    return list(await session.scalars(query))


async def update_run(session: AsyncSession, run_id: int, **values: Any) -> None:
    await session.execute(update(CampaignRun).where(CampaignRun.id == run_id).values(**values))


async def insert_sends(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record outcomes; a customer already recorded in the run (a resumed batch) keeps their first outcome."""
    if rows:
        statement = _insert(session, CampaignSend).on_conflict_do_nothing(index_elements=["run_id", "customer_id"])
        await session.execute(statement, list(rows))


async def selected_owners(session: AsyncSession, run_id: int) -> list[str]:
    query = (
        select(CampaignSend.owner_userid)
        .where(CampaignSend.run_id == run_id, CampaignSend.outcome == SendOutcome.SELECTED)
        .group_by(CampaignSend.owner_userid)
        .order_by(CampaignSend.owner_userid)
    )
    return list(await session.scalars(query))


async def selected_of_owner(
    session: AsyncSession, run_id: int, owner: str, limit: int
) -> list[tuple[CampaignSend, str]]:
    """The next selected sends of one owner, same texts together, each with the customer's external_userid."""
    query = (
        select(CampaignSend, func.coalesce(Customer.external_userid, ""))
        .join(Customer, Customer.id == CampaignSend.customer_id)
        .where(CampaignSend.run_id == run_id, CampaignSend.outcome == SendOutcome.SELECTED)
        .where(CampaignSend.owner_userid == owner)
        .order_by(CampaignSend.text, CampaignSend.id)
        .limit(limit)
    )
    return [(send, str(ext)) for send, ext in await session.execute(query)]


async def mark_sends(session: AsyncSession, send_ids: Collection[int], **values: Any) -> None:
    if send_ids:
        statement = update(CampaignSend).where(CampaignSend.id.in_(list(send_ids))).values(**values)
        # No ORM bookkeeping: sends are never held in the session while they are marked in bulk.
        await session.execute(statement.execution_options(synchronize_session=False))


async def recent_marketing(session: AsyncSession, customer_ids: Collection[int], since: datetime) -> dict[int, int]:
    """Marketing messages sent (queued or in a task) to each customer since `since`, across every campaign."""
    rows = await session.execute(
        select(CampaignSend.customer_id, func.count())
        .where(CampaignSend.customer_id.in_(list(customer_ids)), CampaignSend.outcome.in_(SENT_OUTCOMES))
        .where(CampaignSend.created_at >= since)
        .group_by(CampaignSend.customer_id)
    )
    return {int(cid): int(n) for cid, n in rows}


async def sent_by_other_campaigns(
    session: AsyncSession, customer_ids: Collection[int], campaign_id: int, since: datetime
) -> set[int]:
    rows = await session.scalars(
        select(CampaignSend.customer_id)
        .where(CampaignSend.customer_id.in_(list(customer_ids)), CampaignSend.outcome.in_(SENT_OUTCOMES))
        .where(CampaignSend.created_at >= since, CampaignSend.campaign_id != campaign_id)
    )
    return set(rows)


async def outcome_counts(
    session: AsyncSession, *, run_id: int | None = None, campaign_id: int | None = None
) -> dict[str, int]:
    """Sends by outcome, and skips by reason as `skipped:<reason>`."""
    query = select(CampaignSend.outcome, CampaignSend.reason, func.count()).group_by(
        CampaignSend.outcome, CampaignSend.reason
    )
    if run_id is not None:
        query = query.where(CampaignSend.run_id == run_id)
    if campaign_id is not None:
        query = query.where(CampaignSend.campaign_id == campaign_id)
    counts: dict[str, int] = {}
    for outcome, reason, n in await session.execute(query):
        key = f"{outcome}:{reason}" if outcome == SendOutcome.SKIPPED else str(outcome)
        counts[key] = counts.get(key, 0) + int(n)
    return counts


async def insert_sends_from(session: AsyncSession, columns: Sequence[str], source: Any) -> None:
    """Record a batch's outcomes from one SELECT; a customer already recorded in the run keeps their first outcome."""
    statement = (
        _insert(session, CampaignSend)
        .from_select(list(columns), source)
        .on_conflict_do_nothing(index_elements=["run_id", "customer_id"])
    )
    await session.execute(statement)


async def recorded_after(session: AsyncSession, run_id: int, cursor: int, limit: int) -> tuple[int, int]:
    """How many of the run's first `limit` recorded customers after `cursor` there are, and the last one's id."""
    first = (
        select(CampaignSend.customer_id)
        .where(CampaignSend.run_id == run_id, CampaignSend.customer_id > cursor)
        .order_by(CampaignSend.customer_id)
        .limit(limit)
        .subquery()
    )
    size, last = (await session.execute(select(func.count(), func.max(first.c.customer_id)))).one()
    return int(size), int(last or cursor)


async def selected_in_span(session: AsyncSession, run_id: int, span: tuple[int, int]) -> list[int]:
    """Customers of the run still selected with ids in (after, upto]: one keyset batch."""
    after, upto = span
    query = (
        select(CampaignSend.customer_id)
        .where(CampaignSend.run_id == run_id, CampaignSend.outcome == SendOutcome.SELECTED)
        .where(CampaignSend.customer_id > after, CampaignSend.customer_id <= upto)
        .order_by(CampaignSend.customer_id)
    )
    return list(await session.scalars(query))


async def set_send_texts(session: AsyncSession, run_id: int, texts: Sequence[dict[str, Any]]) -> None:
    """Each customer's personal text (`cid`, `t`), in one executemany."""
    if texts:
        statement = (
            update(cast(Table, CampaignSend.__table__))
            .where(CampaignSend.run_id == run_id, CampaignSend.customer_id == bindparam("cid"))
            .values(text=bindparam("t"))
        )
        await session.execute(statement, list(texts))
