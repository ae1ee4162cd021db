"""Follow-ups as the console shows them (DESIGN.md §12): a rep sees only their own, managers and admins all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer
from services.service.followups import FollowupError, FollowupView, complete, view_of
from storage.models.campaigns import Followup, FollowupStatus
from storage.models.customers import Customer

DUE_SOON: Final = timedelta(days=1)  # "due" means within the next day; earlier than now is overdue
PAGE: Final = 200


@dataclass(frozen=True, slots=True)
class ShownFollowup:
    followup: FollowupView
    state: str  # overdue | due | later


def followup_scope(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.sees_all:
        return true()
    if not viewer.wecom_userid:
        return false()
    return Followup.member_userid == viewer.wecom_userid


async def visible_followups(session: AsyncSession, viewer: Viewer, now: datetime) -> list[ShownFollowup]:
    """Open follow-ups in the viewer's scope, soonest first, each marked overdue, due (within a day) or later."""
    rows = await session.execute(
        select(Followup, Customer.name)
        .join(Customer, Customer.id == Followup.customer_id)
        .where(Followup.status == FollowupStatus.OPEN, followup_scope(viewer))
        .order_by(Followup.due_at, Followup.id)
        .limit(PAGE)
    )
    shown = []
    for row, name in rows:
        due = _utc(row.due_at)
        state = "overdue" if due < now else "due" if due <= now + DUE_SOON else "later"
        shown.append(ShownFollowup(view_of(row, name), state))
    return shown


async def complete_visible(session: AsyncSession, viewer: Viewer, now: datetime, followup_id: int) -> FollowupView:
    """Mark done a follow-up the viewer may see; another rep's answers like an unknown one (no existence leak)."""
    found = await session.scalar(select(Followup.id).where(Followup.id == followup_id, followup_scope(viewer)))
    if found is None:
        raise FollowupError("没有找到该跟进 / no such follow-up")
    row = await complete(session, now, followup_id, None if viewer.sees_all else viewer.wecom_userid)
    row.done_by = (viewer.wecom_userid or viewer.actor)[:64]
    name = await session.scalar(select(Customer.name).where(Customer.id == row.customer_id))
    return view_of(row, name)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
