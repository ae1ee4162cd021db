"""Customers, their follow relationships and tags, and members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerFollow, CustomerTag, FollowStatus, Member


async def customer_by_external_id(session: AsyncSession, external_userid: str) -> Customer | None:
    return (
        await session.execute(select(Customer).where(Customer.external_userid == external_userid))
    ).scalar_one_or_none()


async def customers_by_external_ids(session: AsyncSession, ids: Iterable[str]) -> dict[str, Customer]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Customer).where(Customer.external_userid.in_(wanted)))
    return {c.external_userid: c for c in rows.scalars() if c.external_userid}


async def customer_by_id(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def add_customer(session: AsyncSession, external_userid: str, name: str, now: datetime) -> Customer:
    customer = Customer(external_userid=external_userid, name=name, first_seen_at=now)
    session.add(customer)
    await session.flush()
    return customer


async def follows_of(session: AsyncSession, customer_id: int) -> list[CustomerFollow]:
    rows = await session.execute(
        select(CustomerFollow).where(CustomerFollow.customer_id == customer_id).order_by(CustomerFollow.id)
    )
    return list(rows.scalars())


async def add_follow(session: AsyncSession, customer_id: int, userid: str) -> CustomerFollow:
    follow = CustomerFollow(customer_id=customer_id, userid=userid, status=FollowStatus.ACTIVE)
    session.add(follow)
    await session.flush()
    return follow


async def replace_tags(
    session: AsyncSession, customer_id: int, userid: str, tags: Sequence[tuple[str, str, str]]
) -> None:
    """Set the tags one member put on a customer: (tag_id, tag_name, group_name) triples."""
    await session.execute(
        delete(CustomerTag).where(CustomerTag.customer_id == customer_id, CustomerTag.userid == userid)
    )
    for tag_id, name, group in dict.fromkeys(tags):
        session.add(CustomerTag(customer_id=customer_id, userid=userid, tag_id=tag_id, tag_name=name, group_name=group))


async def tags_of(session: AsyncSession, customer_id: int) -> list[CustomerTag]:
    rows = await session.execute(
        select(CustomerTag).where(CustomerTag.customer_id == customer_id).order_by(CustomerTag.group_name)
    )
    return list(rows.scalars())


async def list_customers(
    session: AsyncSession, limit: int, offset: int = 0, owner_userid: str | None = None
) -> list[Customer]:
    stmt = select(Customer).where(Customer.merged_into_id.is_(None)).order_by(Customer.id).limit(limit).offset(offset)
    if owner_userid is not None:
        stmt = stmt.where(Customer.owner_userid == owner_userid)
    return list((await session.execute(stmt)).scalars())


async def count_customers(session: AsyncSession) -> int:
    """How many profiles `list_customers` pages through (merged ones excluded)."""
    stmt = select(func.count()).select_from(Customer).where(Customer.merged_into_id.is_(None))
    return int(await session.scalar(stmt) or 0)


async def members_by_ids(session: AsyncSession, userids: Iterable[str]) -> dict[str, Member]:
    wanted = list(set(userids))
    if not wanted:
        return {}
    rows = await session.execute(select(Member).where(Member.userid.in_(wanted)))
    return {m.userid: m for m in rows.scalars()}


async def upsert_member(session: AsyncSession, userid: str, name: str, position: str, now: datetime) -> Member:
    existing = await session.get(Member, userid)
    if existing is None:
        existing = Member(userid=userid)
        session.add(existing)
    existing.name, existing.position, existing.synced_at = name, position, now
    return existing
