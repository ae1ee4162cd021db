"""Set-based reads and writes of a run's rows by range: its drawn audience, and one owner's same-text span of sends.

A run walks its audience (drawn once into `campaign_audience`) by primary-key range, and turns a span of one owner's
selected sends into a task with range updates, so no step's cost grows with the cursor or passes rows through Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.campaigns import CampaignAudience, CampaignSend, ContactPref, SendOutcome
from storage.models.customers import Customer
from storage.repos.campaigns import _insert


async def audience_left(session: AsyncSession, run_id: int, cursor: int) -> bool:
    """Whether the run's drawn audience still has customers after the cursor."""
    rest = select(CampaignAudience.customer_id).where(
        CampaignAudience.run_id == run_id, CampaignAudience.customer_id > cursor
    )
    return bool(await session.scalar(select(exists(rest))))


async def draw_audience(session: AsyncSession, run_id: int, chosen: ColumnElement[bool]) -> None:
    """Record the customers `chosen` selects as the run's audience, in one INSERT … SELECT (a repeated draw adds
    nobody twice)."""
    source = select(literal(run_id, CampaignAudience.run_id.type), Customer.id).where(chosen)
    statement = (
        _insert(session, CampaignAudience)
        .from_select(["run_id", "customer_id"], source)
        .on_conflict_do_nothing(index_elements=["run_id", "customer_id"])
    )
    await session.execute(statement)


async def drop_audience(session: AsyncSession, run_id: int) -> None:
    await session.execute(delete(CampaignAudience).where(CampaignAudience.run_id == run_id))


@dataclass(frozen=True, slots=True)
class Span:
    """The first sends (by id) of one owner with one text, still selected: lo..hi inclusive."""

    run_id: int
    owner: str
    text: str
    lo: int
    hi: int

    def rows(self) -> ColumnElement[bool]:
        return and_(
            CampaignSend.run_id == self.run_id,
            CampaignSend.outcome == SendOutcome.SELECTED,
            CampaignSend.owner_userid == self.owner,
            CampaignSend.text == self.text,
            CampaignSend.id.between(self.lo, self.hi),
        )


async def next_span(session: AsyncSession, run_id: int, owner: str, limit: int) -> Span | None:
    """The owner's first selected text (in text order, as `selected_of_owner` reads) and its first `limit` sends."""
    mine = and_(
        CampaignSend.run_id == run_id,
        CampaignSend.outcome == SendOutcome.SELECTED,
        CampaignSend.owner_userid == owner,
    )
    head_query = select(CampaignSend.text).where(mine).order_by(CampaignSend.text, CampaignSend.id).limit(1)
    head = await session.scalar(head_query)
    if head is None:
        return None
    first = (
        select(CampaignSend.id).where(mine, CampaignSend.text == head).order_by(CampaignSend.id).limit(limit).subquery()
    )
    lo, hi = (await session.execute(select(func.min(first.c.id), func.max(first.c.id)))).one()
    return Span(run_id, owner, str(head), int(lo), int(hi))


async def skip_opted_out(session: AsyncSession, span: Span) -> None:
    """Sends of the span whose customer has opted out since the audience was drawn: skipped, as at selection."""
    out = select(ContactPref.customer_id).where(ContactPref.opted_out_at.is_not(None))
    statement = (
        update(CampaignSend)
        .where(span.rows(), CampaignSend.customer_id.in_(out))
        .values(outcome=SendOutcome.SKIPPED, reason="opted_out")
    )
    await session.execute(statement.execution_options(synchronize_session=False))


async def any_left(session: AsyncSession, span: Span) -> bool:
    return bool(await session.scalar(select(exists(select(CampaignSend.id).where(span.rows())))))


def external_ids(span: Span) -> Select[str]:
    """The external_userids of the span's customers, in send order (a SELECT for an INSERT … SELECT)."""
    return (
        select(func.coalesce(Customer.external_userid, ""))
        .select_from(CampaignSend)
        .join(Customer, Customer.id == CampaignSend.customer_id)
        .where(span.rows())
        .order_by(CampaignSend.id)
    )


async def mark_span(session: AsyncSession, span: Span, **values: Any) -> None:
    statement = update(CampaignSend).where(span.rows()).values(**values)
    await session.execute(statement.execution_options(synchronize_session=False))
