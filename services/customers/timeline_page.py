"""A customer's whole timeline, one page at a time: lifecycle entries, every message (the customer's, the reps',
the bot's own), purchases, ticket events and survey asks, each marked with its side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.timeline import (
    CHANNEL_NAMES,
    SURVEY_TRIGGERS,
    EntryKind,
    describe,
    describe_purchase,
    message_text,
)
from services.tickets.text import label
from storage.models.customers import Customer, CustomerEvent
from storage.models.messages import Message
from storage.models.purchases import Purchase
from storage.models.surveys import Survey
from storage.models.tickets import Ticket, TicketEvent
from storage.repos import contacts, groups
from storage.repos.timeline_page import EntryRef, page_of, rows_by_id

MemberName = Callable[[str | None], str]
# Who an entry comes from: the customer, a rep (member), the bot (Qunke, or a group robot), or the system.
SIDES: Final = ("customer", "member", "bot", "system")
SENDER_SIDES: Final = {"customer": "customer", "member": "member", "bot": "bot", "robot": "bot"}
TICKET_EVENTS: Final = {
    "opened": "已创建",
    "claimed": "由 {actor} 接手",
    "replied": "{actor} 通过公众号回复了客户",
    "pending": "已挂起",
    "solved": "已由 {actor} 解决",
    "closed": "已关闭",
    "reopened": "已重新打开",
    "linked": "关联了新的消息",
}
SURVEY_NAMES: Final = {"csat": "满意度评价", "nps": "推荐意愿（NPS）"}
MAX_LIMIT: Final = 500


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """A lifecycle entry (kind = what happened) or a message (kind = "message", with channel, chat and sender)."""

    at: datetime
    kind: str
    text: str
    member_userid: str | None
    chat_id: str | None
    detail: dict[str, Any]
    channel: str | None = None
    chat_type: str | None = None
    chat_name: str | None = None
    sender_kind: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    msgtype: str | None = None
    recalled: bool = False
    side: str = "system"


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """Page 1 is the newest `limit` entries, page 2 the ones before them; each page reads oldest first."""

    items: list[TimelineItem] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class _Rows:
    events: dict[int, CustomerEvent]
    messages: dict[int, Message]
    purchases: dict[int, Purchase]
    ticket_events: dict[int, TicketEvent]
    tickets: dict[int, Ticket]
    surveys: dict[int, Survey]


async def timeline_page(
    session: AsyncSession,
    customer_ids: Sequence[int],
    people: dict[int, Customer],
    *,
    page: int = 1,
    limit: int = 50,
    since: datetime | None = None,
) -> TimelinePage:
    limit = max(1, min(limit, MAX_LIMIT))
    page = max(1, page)
    total, refs = await page_of(session, customer_ids, since=since, limit=limit, offset=(page - 1) * limit)
    rows = await _load(session, refs)
    member_name = await _member_names(session, rows)
    group_names = await groups.names_of(
        session,
        [e.chat_id for e in rows.events.values() if e.chat_id]
        + [m.chat_id for m in rows.messages.values() if m.chat_type == "group"],
    )
    items = [_item(ref, rows, people, member_name, group_names) for ref in refs]
    return TimelinePage([i for i in items if i is not None], total, page, -(-total // limit), limit)


async def _load(session: AsyncSession, refs: Sequence[EntryRef]) -> _Rows:
    def ids(source: str) -> list[int]:
        return [r.ref_id for r in refs if r.source == source]

    ticket_events = await rows_by_id(session, TicketEvent, ids("ticket"))
    return _Rows(
        events=await rows_by_id(session, CustomerEvent, ids("event")),
        messages=await rows_by_id(session, Message, ids("message")),
        purchases=await rows_by_id(session, Purchase, ids("purchase")),
        ticket_events=ticket_events,
        tickets=await rows_by_id(session, Ticket, sorted({e.ticket_id for e in ticket_events.values()})),
        surveys=await rows_by_id(session, Survey, ids("survey")),
    )


async def _member_names(session: AsyncSession, rows: _Rows) -> MemberName:
    userids = (
        {e.member_userid for e in rows.events.values() if e.member_userid}
        | {m.member_userid for m in rows.messages.values() if m.member_userid}
        | {m.sender_id for m in rows.messages.values() if m.sender_kind == "member"}
        | {e.actor for e in rows.ticket_events.values() if e.actor}
    )
    members = await contacts.members_by_ids(session, userids)

    def name(userid: str | None) -> str:
        return (members[userid].name or userid) if userid and userid in members else (userid or "")

    return name


def _item(
    ref: EntryRef,
    rows: _Rows,
    people: dict[int, Customer],
    member_name: MemberName,
    group_names: dict[str, str],
) -> TimelineItem | None:
    if ref.source == "event" and ref.ref_id in rows.events:
        return event_item(rows.events[ref.ref_id], member_name, group_names)
    if ref.source == "message" and ref.ref_id in rows.messages:
        return message_item(rows.messages[ref.ref_id], people, member_name, group_names)
    if ref.source == "purchase" and ref.ref_id in rows.purchases:
        return purchase_item(rows.purchases[ref.ref_id])
    if ref.source == "ticket" and ref.ref_id in rows.ticket_events:
        event = rows.ticket_events[ref.ref_id]
        return ticket_item(event, rows.tickets.get(event.ticket_id), member_name)
    if ref.source == "survey" and ref.ref_id in rows.surveys:
        return survey_item(rows.surveys[ref.ref_id])
    return None


def event_item(e: CustomerEvent, member_name: MemberName, group_names: dict[str, str]) -> TimelineItem:
    return TimelineItem(
        at=e.occurred_at,
        kind=e.kind,
        text=describe(e.kind, member_name(e.member_userid), group_names.get(e.chat_id or "", ""), e.detail),
        member_userid=e.member_userid,
        chat_id=e.chat_id,
        detail=e.detail,
        side="customer" if e.kind in (EntryKind.CSAT_ANSWERED, EntryKind.NPS_ANSWERED) else "system",
    )


def purchase_item(p: Purchase) -> TimelineItem:
    return TimelineItem(
        at=p.purchased_at,
        kind=EntryKind.PURCHASE,
        text=describe_purchase(p.item, p.amount_cents),
        member_userid=None,
        chat_id=None,
        detail={"reference": p.reference, "item": p.item, "amount_cents": p.amount_cents},
        side="customer",
    )


def ticket_item(e: TicketEvent, ticket: Ticket | None, member_name: MemberName) -> TimelineItem:
    """ "工单 T12 已创建：转人工：客户要求人工服务", "工单 T12 由 王五 接手", "工单 T12 已关闭（自动）"."""
    what = TICKET_EVENTS.get(e.kind, e.kind).format(actor=member_name(e.actor) or "系统")
    text = f"工单 {label(e.ticket_id)} {what}"
    if e.kind == "opened" and ticket is not None:
        text += f"：{ticket.subject}"
    if e.detail.get("auto"):
        text += "（自动）"
    by_member = e.actor not in ("", "bot", "system") and not e.actor.startswith("cli")
    return TimelineItem(
        at=e.occurred_at,
        kind=f"ticket_{e.kind}",
        text=text,
        member_userid=e.actor if by_member else None,
        chat_id=ticket.chat_id if ticket is not None and ticket.chat_id else None,
        detail={"ticket_id": e.ticket_id, "actor": e.actor, **e.detail},
        side="member" if by_member else "system",
    )


def survey_item(s: Survey) -> TimelineItem:
    """The ask (its answer is a csat_answered / nps_answered entry of its own)."""
    context = [SURVEY_TRIGGERS.get(s.trigger, "")] + ([f"工单 {label(s.ticket_id)}"] if s.ticket_id else [])
    shown = "，".join(c for c in context if c)
    text = f"发出{SURVEY_NAMES.get(s.kind, s.kind)}调查" + (f"（{shown}）" if shown else "")
    if s.status == "expired":
        text += "，未作答已过期"
    return TimelineItem(
        at=s.asked_at,
        kind="survey_asked",
        text=text,
        member_userid=None,
        chat_id=s.chat_id or None,
        detail={"survey_id": s.id, "survey_kind": s.kind, "trigger": s.trigger, "status": s.status, "score": s.score},
        channel=s.channel,
        side="bot",
    )


def message_item(
    m: Message, people: dict[int, Customer], member_name: MemberName, group_names: dict[str, str]
) -> TimelineItem:
    if m.sender_kind == "customer":
        person = people.get(m.customer_id or 0)
        sender_name = person.name if person and person.name else m.sender_id
    elif m.sender_kind == "member":
        sender_name = member_name(m.sender_id)
    elif m.sender_kind == "bot":
        sender_name = "群客机器人"
    else:
        sender_name = m.sender_id
    if m.chat_type == "group":
        chat_name = f"群「{group_names.get(m.chat_id) or m.chat_id}」"
    elif m.chat_type == "single":
        chat_name = f"与 {member_name(m.member_userid)} 的单聊"
    else:
        chat_name = CHANNEL_NAMES.get(m.channel, m.channel)
    return TimelineItem(
        at=m.sent_at,
        kind="message",
        text=message_text(m.msgtype, m.text, m.body, m.recalled_at is not None),
        member_userid=m.member_userid,
        chat_id=m.chat_id,
        detail=m.body,
        channel=m.channel,
        chat_type=m.chat_type,
        chat_name=chat_name,
        sender_kind=m.sender_kind,
        sender_id=m.sender_id,
        sender_name=sender_name,
        msgtype=m.msgtype,
        recalled=m.recalled_at is not None,
        side=SENDER_SIDES.get(m.sender_kind, "system"),
    )
