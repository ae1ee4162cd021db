"""The console's customer list and profile, always within the viewer's scope (a rep sees only their own)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.viewer import Viewer, can_see_customer, customer_scope
from services.customers.profiles import CustomerProfile, CustomerSummary, customer_profile, lifecycle_status
from storage.models.customers import Customer, CustomerTag
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore
from storage.models.surveys import CustomerScore
from storage.repos import contacts

PAGE_SIZE = 50
STATUSES = ("contact", "lost", "group_only")


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """Search and filters from the list page; empty strings mean "any"."""

    q: str = ""
    tag: str = ""
    owner: str = ""
    status: str = ""
    page: int = 1


@dataclass(frozen=True, slots=True)
class CustomerPage:
    items: list[CustomerSummary]
    total: int
    page: int
    pages: int


def _filters(query: CustomerQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Customer.merged_into_id.is_(None)]
    if query.q:
        pattern = f"%{query.q}%"
        where.append(or_(Customer.name.like(pattern), Customer.external_userid.like(pattern)))
    if query.tag:
        where.append(exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag_name == query.tag))
    if query.owner:
        where.append(Customer.owner_userid == query.owner)
    if query.status == "lost":
        where.append(Customer.lost_at.is_not(None))
    elif query.status == "contact":
        where.extend([Customer.lost_at.is_(None), Customer.became_contact_at.is_not(None)])
    elif query.status == "group_only":
        where.extend([Customer.lost_at.is_(None), Customer.became_contact_at.is_(None)])
    return where


async def search_customers(session: AsyncSession, viewer: Viewer, query: CustomerQuery) -> CustomerPage:
    """One page of customers in scope matching the query, newest first, with the total for paging."""
    where = [customer_scope(viewer), *_filters(query)]
    total = int((await session.execute(select(func.count()).select_from(Customer).where(*where))).scalar_one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    rows = (
        await session.execute(
            select(Customer)
            .where(*where)
            .order_by(Customer.first_seen_at.desc(), Customer.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    ).scalars()
    found = list(rows)
    names = await contacts.members_by_ids(session, {c.owner_userid for c in found if c.owner_userid})
    items = [
        CustomerSummary(
            id=c.id,
            external_userid=c.external_userid,
            name=c.name,
            owner_userid=c.owner_userid,
            owner_name=names[c.owner_userid].name if c.owner_userid in names else "",
            status=lifecycle_status(c.became_contact_at, c.lost_at),
            first_seen_at=c.first_seen_at,
        )
        for c in found
    ]
    return CustomerPage(items, total, page, pages)


async def visible_profile(session: AsyncSession, viewer: Viewer, customer_id: int) -> CustomerProfile | None:
    """The profile when the customer exists and is in scope; None otherwise (the page answers 404 for both)."""
    if not await can_see_customer(session, viewer, customer_id):
        return None
    return await customer_profile(session, customer_id)


@dataclass(frozen=True, slots=True)
class Scores:
    """What the profile shows beside the timeline: latest CSAT and NPS, churn risk and its reasons, purchases."""

    csat: int | None = None
    nps: int | None = None
    churn_risk: float | None = None
    at_risk: bool = False
    churn_reasons: tuple[str, ...] = ()
    purchases: int = 0
    spent_cents: int = 0


async def scores_of(session: AsyncSession, customer_id: int) -> Scores:
    """Call only after `visible_profile` found the customer in scope."""
    latest = await session.get(CustomerScore, customer_id)
    churn = await session.get(ChurnScore, customer_id)
    bought = await session.execute(
        select(func.count(), func.coalesce(func.sum(Purchase.amount_cents), 0)).where(
            Purchase.customer_id == customer_id
        )
    )
    count, spent = bought.one()
    return Scores(
        csat=latest.csat if latest else None,
        nps=latest.nps if latest else None,
        churn_risk=churn.risk if churn else None,
        at_risk=bool(churn and churn.at_risk),
        churn_reasons=tuple(churn.reasons) if churn else (),
        purchases=int(count),
        spent_cents=int(spent),
    )


async def tag_names(session: AsyncSession, viewer: Viewer) -> list[str]:
    """Tags on customers in scope, for the filter menu."""
    rows = await session.execute(
        select(CustomerTag.tag_name)
        .join(Customer, Customer.id == CustomerTag.customer_id)
        .where(customer_scope(viewer))
        .distinct()
        .order_by(CustomerTag.tag_name)
    )
    return [str(t) for t in rows.scalars() if t]


async def owner_ids(session: AsyncSession, viewer: Viewer) -> list[str]:
    rows = await session.execute(
        select(Customer.owner_userid).where(customer_scope(viewer), Customer.owner_userid.is_not(None)).distinct()
    )
    return sorted(str(o) for o in rows.scalars() if o)
