"""社群: each customer group's health over a period, within the viewer's scope (a rep sees the groups they own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, distinct, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer
from services.customers.timeline import EntryKind
from storage.models.customers import CustomerEvent
from storage.models.groups import Group, GroupMember
from storage.models.messages import ChatType, Message, SenderKind
from storage.models.service import ChatWait, WaitStatus

CUSTOMER_MEMBER = 2  # group_members.member_type for an external contact


@dataclass(frozen=True, slots=True)
class GroupHealth:
    chat_id: str
    name: str
    owner_userid: str
    status: str
    members: int  # customers in the group now
    joins: int
    leaves: int
    messages: int
    messages_per_day: float
    speakers: int  # customers who said something in the period
    silent: int  # customers in the group now who said nothing in the period
    questions: int  # customer questions that waited for an answer
    answered: int
    answer_rate: float | None
    median_answer_s: float | None


def group_scope(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.sees_all:
        return true()
    return Group.owner_userid == (viewer.wecom_userid or "\x00")


async def _counts(session: AsyncSession, stmt: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in (await session.execute(stmt)).all()}  # type: ignore[call-overload]


async def group_health(session: AsyncSession, viewer: Viewer, start: datetime, end: datetime) -> list[GroupHealth]:
    """One row per group in scope, busiest first."""
    groups = list((await session.execute(select(Group).where(group_scope(viewer)))).scalars())
    ids = [g.chat_id for g in groups]
    if not ids:
        return []
    members = await _counts(
        session,
        select(GroupMember.chat_id, func.count())
        .where(GroupMember.chat_id.in_(ids), GroupMember.member_type == CUSTOMER_MEMBER)
        .group_by(GroupMember.chat_id),
    )
    moves = select(CustomerEvent.chat_id, func.count()).where(
        CustomerEvent.chat_id.in_(ids), CustomerEvent.occurred_at >= start, CustomerEvent.occurred_at < end
    )
    joins = await _counts(
        session, moves.where(CustomerEvent.kind == EntryKind.JOINED_GROUP).group_by(CustomerEvent.chat_id)
    )
    left = (EntryKind.LEFT_GROUP, EntryKind.REMOVED_FROM_GROUP)
    leaves = await _counts(session, moves.where(CustomerEvent.kind.in_(left)).group_by(CustomerEvent.chat_id))
    said = select(Message.chat_id).where(
        Message.chat_id.in_(ids), Message.chat_type == ChatType.GROUP, Message.sent_at >= start, Message.sent_at < end
    )
    messages = await _counts(session, said.add_columns(func.count()).group_by(Message.chat_id))
    speakers = await _counts(
        session,
        said.add_columns(func.count(distinct(Message.sender_id)))
        .where(Message.sender_kind == SenderKind.CUSTOMER)
        .group_by(Message.chat_id),
    )
    waits = select(ChatWait.chat_id).where(
        ChatWait.chat_id.in_(ids), ChatWait.waiting_since >= start, ChatWait.waiting_since < end
    )
    questions = await _counts(session, waits.add_columns(func.count()).group_by(ChatWait.chat_id))
    answered_rows = await session.execute(
        waits.add_columns(ChatWait.response_s).where(ChatWait.status == WaitStatus.ANSWERED)
    )
    times: dict[str, list[float]] = {}
    for chat_id, seconds in answered_rows.all():
        times.setdefault(str(chat_id), []).append(float(seconds or 0))
    days = max((end - start).total_seconds() / 86400, 1)
    rows = [
        _health(g, members, joins, leaves, messages, speakers, questions, times.get(g.chat_id, []), days)
        for g in groups
    ]
    return sorted(rows, key=lambda r: (-r.messages, r.name))


def _health(
    g: Group,
    members: dict[str, int],
    joins: dict[str, int],
    leaves: dict[str, int],
    messages: dict[str, int],
    speakers: dict[str, int],
    questions: dict[str, int],
    answer_times: list[float],
    days: float,
) -> GroupHealth:
    asked, answered = questions.get(g.chat_id, 0), len(answer_times)
    ordered = sorted(answer_times)
    return GroupHealth(
        chat_id=g.chat_id,
        name=g.name,
        owner_userid=g.owner_userid,
        status=g.status,
        members=members.get(g.chat_id, 0),
        joins=joins.get(g.chat_id, 0),
        leaves=leaves.get(g.chat_id, 0),
        messages=messages.get(g.chat_id, 0),
        messages_per_day=round(messages.get(g.chat_id, 0) / days, 1),
        speakers=speakers.get(g.chat_id, 0),
        silent=max(members.get(g.chat_id, 0) - speakers.get(g.chat_id, 0), 0),
        questions=asked,
        answered=answered,
        answer_rate=round(answered / asked, 3) if asked else None,
        median_answer_s=ordered[len(ordered) // 2] if ordered else None,
    )
