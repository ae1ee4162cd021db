"""The customer read model: list, profile and timeline, oldest first (newest last)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.timeline import describe, scene_from_join_code
from storage.repos import contacts, groups, timeline


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
    at: datetime
    kind: str
    text: str
    member_userid: str | None
    chat_id: str | None
    detail: dict[str, Any]


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
    customer = await contacts.customer_by_id(session, customer_id)
    if customer is None:
        return None
    follows = await contacts.follows_of(session, customer.id)
    events = await timeline.events_of(session, customer.id)
    memberships = await groups.groups_of_customer(session, customer.id)
    member_ids = {f.userid for f in follows} | {e.member_userid for e in events if e.member_userid}
    members = await contacts.members_by_ids(session, member_ids | {customer.owner_userid or ""})
    group_names = await groups.names_of(session, [e.chat_id for e in events if e.chat_id])

    def member_name(userid: str | None) -> str:
        return (members[userid].name or userid) if userid and userid in members else (userid or "")

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
            for t in await contacts.tags_of(session, customer.id)
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
        timeline=[
            TimelineItem(
                at=e.occurred_at,
                kind=e.kind,
                text=describe(e.kind, member_name(e.member_userid), group_names.get(e.chat_id or "", ""), e.detail),
                member_userid=e.member_userid,
                chat_id=e.chat_id,
                detail=e.detail,
            )
            for e in events
        ],
    )
