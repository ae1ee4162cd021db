"""The customer read model: list, profile and timeline, oldest first (newest last)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.identity import cluster_ids, root_of
from services.customers.timeline import scene_from_join_code
from services.customers.timeline_page import TimelineItem, timeline_page
from storage.models.campaigns import ContactPref, CustomerAttribute, RfmScore
from storage.models.service import ChurnScore
from storage.models.surveys import CustomerScore
from storage.repos import contacts, groups, oa_holds

# NPS categories: 9-10 promoters, 7-8 passives, 0-6 detractors.
NPS_PROMOTER: Final = 9
NPS_PASSIVE: Final = 7


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
    # One page of the whole timeline (services/customers/timeline_page.py): page 1 is the newest entries.
    timeline: list[TimelineItem] = field(default_factory=list)
    timeline_total: int = 0
    timeline_page: int = 1
    timeline_pages: int = 0
    timeline_limit: int = 50
    # Latest CSAT (1-5) and NPS (0-10, with its category), churn risk (0..1) with its reasons, RFM tier and scores.
    scores: dict[str, Any] = field(default_factory=dict)
    # Operator-defined facts (birthday, renewal_date, ...) from `qunke attribute import`.
    attributes: dict[str, str] = field(default_factory=dict)
    # Said 退订 and not 订阅 since: no campaign reaches them.
    opted_out: bool = False
    # Handed to a person on the OA and not yet released (services/faq/oa_person.py): the FAQ is silent for them.
    # {"since", "rep", "ticket_id", "reason", "alerted", "messages" (from the follower since), "last_message_at"}.
    oa_with_person: dict[str, Any] | None = None

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


async def customer_profile(
    session: AsyncSession,
    customer_id: int,
    *,
    page: int = 1,
    limit: int = 50,
    since: datetime | None = None,
) -> CustomerProfile | None:
    """The profile with one page of its timeline (newest page first; `since` keeps entries at or after it)."""
    asked = await contacts.customer_by_id(session, customer_id)
    if asked is None:
        return None
    customer = await root_of(session, asked)
    ids = await cluster_ids(session, customer.id)
    people = {c.id: c for c in [await contacts.customer_by_id(session, i) for i in ids] if c is not None}
    follows = [f for i in ids for f in await contacts.follows_of(session, i)]
    memberships = [m for i in ids for m in await groups.groups_of_customer(session, i)]
    members = await contacts.members_by_ids(session, {f.userid for f in follows} | {customer.owner_userid or ""})
    timeline = await timeline_page(session, ids, people, page=page, limit=limit, since=since)

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
        timeline=timeline.items,
        timeline_total=timeline.total,
        timeline_page=timeline.page,
        timeline_pages=timeline.pages,
        timeline_limit=timeline.limit,
        scores=await scores_of(session, customer.id, ids),
        attributes=await attributes_of(session, customer.id),
        opted_out=await _opted_out(session, customer.id),
        oa_with_person=await _oa_with_person(session, ids),
    )


async def _oa_with_person(session: AsyncSession, ids: list[int]) -> dict[str, Any] | None:
    holds = await oa_holds.live_of_customers(session, ids)
    if not holds:
        return None
    hold = holds[0]
    return {
        "since": hold.held_at,
        "rep": hold.rep,
        "ticket_id": hold.ticket_id,
        "reason": hold.reason,
        "alerted": list(hold.alerted or ()),
        "messages": hold.held_messages,
        "last_message_at": hold.last_message_at,
    }


async def attributes_of(session: AsyncSession, customer_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(CustomerAttribute.name, CustomerAttribute.value)
        .where(CustomerAttribute.customer_id == customer_id)
        .order_by(CustomerAttribute.name)
    )
    return {name: value for name, value in rows}


async def _opted_out(session: AsyncSession, customer_id: int) -> bool:
    pref = await session.get(ContactPref, customer_id)
    return pref is not None and pref.opted_out_at is not None


async def scores_of(session: AsyncSession, root_id: int, ids: list[int]) -> dict[str, Any]:
    """The latest CSAT and NPS across the merged profiles, and the churn risk of the profile itself."""
    rows = [r for r in [await session.get(CustomerScore, i) for i in ids] if r is not None]
    csat = max((r for r in rows if r.csat_at is not None), key=lambda r: r.csat_at or r.customer_id, default=None)
    nps = max((r for r in rows if r.nps_at is not None), key=lambda r: r.nps_at or r.customer_id, default=None)
    churn = await session.get(ChurnScore, root_id)
    rfm = await session.get(RfmScore, root_id)
    return {
        "rfm_tier": rfm.tier if rfm else None,
        "rfm": {"r": rfm.r_score, "f": rfm.f_score, "m": rfm.m_score, "computed_at": rfm.computed_at} if rfm else None,
        "csat": csat.csat if csat else None,
        "csat_at": csat.csat_at if csat else None,
        "nps": nps.nps if nps else None,
        "nps_at": nps.nps_at if nps else None,
        "nps_category": nps_category(nps.nps if nps else None),
        "churn_risk": round(churn.risk, 3) if churn else None,
        "churn_at_risk": churn.at_risk if churn else False,
        "churn_reasons": list(churn.reasons) if churn else [],
        "churn_scored_at": churn.scored_at if churn else None,
    }


def nps_category(score: int | None) -> str | None:
    if score is None:
        return None
    if score >= NPS_PROMOTER:
        return "promoter"
    return "passive" if score >= NPS_PASSIVE else "detractor"
