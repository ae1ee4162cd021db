"""Follow-up reminders for reps (F<id>): add, list, done, postpone; a private reminder when one falls due and a
workday digest of today's follow-ups, overdue tickets and at-risk customers."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import Text
from services.outbox.queue import queue_app_message
from storage.db import dialect_of
from storage.models.campaigns import Followup, FollowupStatus
from storage.models.customers import Customer, Member
from storage.models.service import ChurnScore
from storage.models.tickets import Ticket

REF: Final = re.compile(r"^\s*[Ff]?(\d+)\s*$")
DIGEST_LINES: Final = 20
STATUS_TEXT: Final = {"open": "待跟进", "done": "已完成", "cancelled": "已取消"}


class FollowupError(ValueError):
    """A follow-up that cannot be found or changed; the message is Chinese, for the rep or manager."""


def local_text(moment: datetime, zone: str) -> str:
    """A moment as a rep reads it: month, day and minute in the business zone."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M")


def label(followup_id: int) -> str:
    return f"F{followup_id}"


def parse_ref(text: str) -> int | None:
    match = REF.match(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class FollowupView:
    id: int
    label: str
    customer_id: int
    customer_name: str
    member_userid: str
    due_at: datetime
    note: str
    source: str
    status: str
    created_at: datetime
    done_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def add_followup(
    session: AsyncSession,
    now: datetime,
    *,
    customer_id: int,
    member_userid: str,
    due_at: datetime,
    note: str,
    source: str = "manual",
    created_by: str = "",
    source_key: str | None = None,
) -> int | None:
    """Create a follow-up; with a `source_key` only once (an automation firing again adds nothing): None then."""
    if await session.get(Member, member_userid) is None:
        raise FollowupError(f"找不到成员 {member_userid!r} / unknown member")
    if await session.get(Customer, customer_id) is None:
        raise FollowupError(f"找不到客户 {customer_id} / unknown customer")
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    statement = insert(Followup).values(
        customer_id=customer_id,
        member_userid=member_userid,
        due_at=due_at,
        note=note[:1000],
        source=source,
        status=FollowupStatus.OPEN,
        created_by=created_by,
        created_at=now,
        done_by="",
        source_key=source_key,
    )
    if source_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["source_key"])
    created: int | None = await session.scalar(statement.returning(Followup.id))
    return created


async def list_followups(
    session: AsyncSession,
    *,
    member: str | None = None,
    status: str | None = "open",
    limit: int = 100,
    scope: ColumnElement[bool]
    | None = None,  # a viewer's WHERE clause over followups (services/access/viewer_reads.py)
) -> tuple[list[FollowupView], int]:
    query = select(Followup, Customer.name).join(Customer, Customer.id == Followup.customer_id)
    counted = select(func.count()).select_from(Followup)
    for condition in (
        Followup.member_userid == member if member else None,
        Followup.status == status if status else None,
        scope,
    ):
        if condition is not None:
            query, counted = query.where(condition), counted.where(condition)
    rows = await session.execute(query.order_by(Followup.due_at, Followup.id).limit(limit))
    views = [view_of(f, name) for f, name in rows]
    return views, int(await session.scalar(counted) or 0)


def view_of(row: Followup, customer_name: str | None) -> FollowupView:
    return FollowupView(
        row.id,
        label(row.id),
        row.customer_id,
        customer_name or "",
        row.member_userid,
        row.due_at,
        row.note,
        row.source,
        row.status,
        row.created_at,
        row.done_at,
    )


async def _owned(session: AsyncSession, followup_id: int, by: str | None) -> Followup:
    row = await session.get(Followup, followup_id)
    if row is None or (by is not None and row.member_userid != by):
        raise FollowupError(f"没有找到跟进 {label(followup_id)} / no such follow-up")
    if row.status != FollowupStatus.OPEN:
        raise FollowupError(f"跟进 {label(followup_id)} 已{STATUS_TEXT[row.status]} / already closed")
    return row


async def complete(session: AsyncSession, now: datetime, followup_id: int, by: str | None) -> Followup:
    """Mark done; a rep (`by`) may only close their own; a manager passes None."""
    row = await _owned(session, followup_id, by)
    row.status, row.done_at, row.done_by = FollowupStatus.DONE, now, by or ""
    return row


async def postpone(session: AsyncSession, now: datetime, followup_id: int, by: str | None, days: int) -> Followup:
    if not 1 <= days <= 365:
        raise FollowupError("推迟天数应为 1-365 / days must be 1-365")
    row = await _owned(session, followup_id, by)
    base = max(now, row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=now.tzinfo))
    row.due_at, row.reminded_at = base + timedelta(days=days), None
    return row


async def remind_due(session: AsyncSession, now: datetime) -> int:
    """One private reminder per follow-up when it falls due; returns how many went out."""
    rows = await session.execute(
        select(Followup, Customer.name)
        .join(Customer, Customer.id == Followup.customer_id)
        .where(Followup.status == FollowupStatus.OPEN, Followup.reminded_at.is_(None), Followup.due_at <= now)
        .order_by(Followup.id)
        .limit(500)
    )
    sent = 0
    for row, name in rows:
        text = (
            f"【跟进提醒】{label(row.id)} 客户「{name or '(无昵称)'}」：{row.note or '请跟进'}\n"
            f"完成后回复「完成 {label(row.id)}」，或「推迟 {label(row.id)} 2天」。"
        )
        await queue_app_message(session, now, [row.member_userid], Text(text), key=f"followup:{row.id}:{row.due_at}")
        await session.execute(update(Followup).where(Followup.id == row.id).values(reminded_at=now))
        sent += 1
    return sent


async def send_digest(session: AsyncSession, now: datetime, zone: str, risk_threshold: float) -> int:
    """Each rep's morning digest: follow-ups due today or overdue, overdue tickets, at-risk customers they own."""
    local_end = datetime.combine(now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1), datetime.min.time())
    end_of_today = local_end.replace(tzinfo=ZoneInfo(zone))
    parts: dict[str, list[str]] = defaultdict(list)
    due = await session.execute(
        select(Followup, Customer.name)
        .join(Customer, Customer.id == Followup.customer_id)
        .where(Followup.status == FollowupStatus.OPEN, Followup.due_at < end_of_today)
        .order_by(Followup.due_at)
    )
    for row, name in due:
        parts[row.member_userid].append(f"· 跟进 {label(row.id)}「{name or '(无昵称)'}」{row.note[:40]}")
    tickets = await session.execute(
        select(Ticket.id, Ticket.assignee_userid, Ticket.subject).where(
            Ticket.status.in_(("open", "pending")),
            Ticket.resolve_due_at <= now,
            Ticket.assignee_userid.is_not(None),
        )
    )
    for ticket_id, assignee, subject in tickets:
        parts[str(assignee)].append(f"· 超时工单 T{ticket_id} {subject[:40]}")
    risky = await session.execute(
        select(Customer.owner_userid, Customer.name, ChurnScore.risk)
        .join(ChurnScore, ChurnScore.customer_id == Customer.id)
        .where(ChurnScore.risk >= risk_threshold, Customer.owner_userid.is_not(None), Customer.lost_at.is_(None))
        .order_by(ChurnScore.risk.desc())
    )
    for owner, name, risk in risky:
        parts[str(owner)].append(f"· 流失风险 {round(risk * 100)}%「{name or '(无昵称)'}」")
    day = now.astimezone(ZoneInfo(zone)).date().isoformat()
    for member, lines in parts.items():
        more = f"\n……另有 {len(lines) - DIGEST_LINES} 项" if len(lines) > DIGEST_LINES else ""
        text = f"【今日待办】{day}\n" + "\n".join(lines[:DIGEST_LINES]) + more
        await queue_app_message(session, now, [member], Text(text), key=f"digest:{member}:{day}")
    return len(parts)
