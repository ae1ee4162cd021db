"""The customer read model: list, profile and timeline, oldest first (newest last)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import cluster_ids, root_of
from services.timeline import CHANNEL_NAMES, EntryKind, describe, describe_purchase, message_text, scene_from_join_code
from storage.models import Customer, CustomerEvent, Message
from storage.models_service import Purchase
from storage.repos import contacts, groups, messages, purchases, timeline

# The timeline shows the latest messages; older ones stay in the database (and in a PIPL export).
TIMELINE_MESSAGES = 500


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: int
    external_userid: str | None
    name: str
    owner_userid: str | None
    owner_name: str
    status: str
    first_seen_at: datetime


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


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    id: int
    external_userid: str | None
    unionid: str | None
    name: str
    corp_name: str
    owner_userid: str | None
    owner_name: str
    status: str
    first_seen_at: datetime
    became_contact_at: datetime | None
    lost_at: datetime | None
    oa_openid: str | None = None
    # Profiles merged into this one (by a manager or a shared unionid); their entries are on this timeline.
    merged: list[dict[str, Any]] = field(default_factory=list)
    # When the id asked for was itself merged, the id that was asked for (this profile is where it lives now).
    requested_id: int | None = None
    follows: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[TimelineItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lifecycle_status(became_contact_at: datetime | None, lost_at: datetime | None) -> str:
    if lost_at is not None:
        return "lost"
    return "contact" if became_contact_at is not None else "group_only"


async def list_customers(session: AsyncSession, limit: int = 100, offset: int = 0) -> list[CustomerSummary]:
    rows = await contacts.list_customers(session, limit=limit, offset=offset)
    names = await contacts.members_by_ids(session, {c.owner_userid for c in rows if c.owner_userid})
    return [
        CustomerSummary(
            id=c.id,
            external_userid=c.external_userid,
            name=c.name,
            owner_userid=c.owner_userid,
            owner_name=names[c.owner_userid].name if c.owner_userid in names else "",
            status=lifecycle_status(c.became_contact_at, c.lost_at),
            first_seen_at=c.first_seen_at,
        )
        for c in rows
    ]


async def customer_profile(session: AsyncSession, customer_id: int) -> CustomerProfile | None:
    asked = await contacts.customer_by_id(session, customer_id)
    if asked is None:
        return None
    customer = await root_of(session, asked)
    ids = await cluster_ids(session, customer.id)
    people = {c.id: c for c in [await contacts.customer_by_id(session, i) for i in ids] if c is not None}
    follows = [f for i in ids for f in await contacts.follows_of(session, i)]
    events = await timeline.events_of(session, ids)
    said = await messages.of_customers(session, ids, TIMELINE_MESSAGES)
    memberships = [m for i in ids for m in await groups.groups_of_customer(session, i)]
    member_ids = (
        {f.userid for f in follows}
        | {e.member_userid for e in events if e.member_userid}
        | {m.member_userid for m in said if m.member_userid}
    )
    members = await contacts.members_by_ids(session, member_ids | {customer.owner_userid or ""})
    group_names = await groups.names_of(
        session, [e.chat_id for e in events if e.chat_id] + [m.chat_id for m in said if m.chat_type == "group"]
    )

    def member_name(userid: str | None) -> str:
        return (members[userid].name or userid) if userid and userid in members else (userid or "")

    entries = [_event_item(e, member_name, group_names) for e in events]
    entries += [_message_item(m, people, member_name, group_names) for m in said]
    entries += [_purchase_item(p) for p in await purchases.of_customers(session, ids)]
    entries.sort(key=lambda item: item.at)
    return CustomerProfile(
        id=customer.id,
        external_userid=customer.external_userid,
        unionid=customer.unionid,
        name=customer.name,
        corp_name=customer.corp_name,
        owner_userid=customer.owner_userid,
        owner_name=member_name(customer.owner_userid),
        status=lifecycle_status(customer.became_contact_at, customer.lost_at),
        first_seen_at=customer.first_seen_at,
        became_contact_at=customer.became_contact_at,
        lost_at=customer.lost_at,
        oa_openid=customer.oa_openid or next((p.oa_openid for p in people.values() if p.oa_openid), None),
        merged=[
            {"id": p.id, "name": p.name, "external_userid": p.external_userid, "oa_openid": p.oa_openid}
            for p in people.values()
            if p.id != customer.id
        ],
        requested_id=asked.id if asked.id != customer.id else None,
        follows=[
            {
                "userid": f.userid,
                "name": member_name(f.userid),
                "remark": f.remark,
                "state": f.state,
                "status": f.status,
                "added_at": f.added_at,
                "ended_at": f.ended_at,
            }
            for f in follows
        ],
        tags=[
            {"tag": t.tag_name, "group": t.group_name, "by": t.userid}
            for i in ids
            for t in await contacts.tags_of(session, i)
        ],
        groups=[
            {
                "chat_id": g.chat_id,
                "name": g.name,
                "joined_at": m.join_time,
                "scene": scene_from_join_code(m.join_scene),
            }
            for g, m in memberships
        ],
        timeline=entries,
    )


def _event_item(e: CustomerEvent, member_name: Any, group_names: dict[str, str]) -> TimelineItem:
    return TimelineItem(
        at=e.occurred_at,
        kind=e.kind,
        text=describe(e.kind, member_name(e.member_userid), group_names.get(e.chat_id or "", ""), e.detail),
        member_userid=e.member_userid,
        chat_id=e.chat_id,
        detail=e.detail,
    )


def _purchase_item(p: Purchase) -> TimelineItem:
    return TimelineItem(
        at=p.purchased_at,
        kind=EntryKind.PURCHASE,
        text=describe_purchase(p.item, p.amount_cents),
        member_userid=None,
        chat_id=None,
        detail={"reference": p.reference, "item": p.item, "amount_cents": p.amount_cents},
    )


def _message_item(
    m: Message, people: dict[int, Customer], member_name: Any, group_names: dict[str, str]
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
    )
