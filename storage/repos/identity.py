"""Customer identities across channels (external_userid, OA openid, unionid) and profile merges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.customers import Customer, CustomerMerge


async def by_openid(session: AsyncSession, openid: str) -> Customer | None:
    return (await session.execute(select(Customer).where(Customer.oa_openid == openid))).scalar_one_or_none()


async def unionids_of_openids(session: AsyncSession, openids: Iterable[str]) -> dict[str, str]:
    """The unionid ("" when none) of each OA follower with a profile; followers without one are left out."""
    wanted = sorted(set(openids))
    if not wanted:
        return {}
    rows = await session.execute(select(Customer.oa_openid, Customer.unionid).where(Customer.oa_openid.in_(wanted)))
    return {str(openid): unionid or "" for openid, unionid in rows.all()}


async def roots_with_unionid(session: AsyncSession, unionid: str) -> list[Customer]:
    rows = await session.execute(
        select(Customer)
        .where(Customer.unionid == unionid, Customer.merged_into_id.is_(None))
        .order_by(Customer.first_seen_at, Customer.id)
    )
    return list(rows.scalars())


async def roots_with_unionids(session: AsyncSession, unionids: Iterable[str]) -> dict[str, list[Customer]]:
    """`roots_with_unionid` for several unionids in one read."""
    wanted = sorted(set(unionids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Customer)
        .where(Customer.unionid.in_(wanted), Customer.merged_into_id.is_(None))
        .order_by(Customer.first_seen_at, Customer.id)
    )
    found: dict[str, list[Customer]] = {}
    for customer in rows.scalars():
        found.setdefault(customer.unionid or "", []).append(customer)
    return found


async def add_person(
    session: AsyncSession,
    now: datetime,
    *,
    external_userid: str | None = None,
    openid: str | None = None,
    unionid: str | None = None,
    name: str = "",
) -> Customer:
    """A new profile; when a concurrent writer stored the same external_userid or openid first, theirs."""
    if not external_userid and not openid:
        customer = Customer(unionid=unionid or None, name=name, first_seen_at=now)
        session.add(customer)
        await session.flush()
        return customer
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    values = {"external_userid": external_userid or None, "oa_openid": openid or None, "unionid": unionid or None}
    await session.execute(insert(Customer).values(**values, name=name, first_seen_at=now).on_conflict_do_nothing())
    key = Customer.external_userid == external_userid if external_userid else Customer.oa_openid == openid
    return (await session.execute(select(Customer).where(key))).scalar_one()


async def merged_into(session: AsyncSession, customer_id: int) -> list[Customer]:
    rows = await session.execute(select(Customer).where(Customer.merged_into_id == customer_id))
    return list(rows.scalars())


async def add_merge(
    session: AsyncSession, survivor_id: int, merged_id: int, reason: str, actor: str, now: datetime
) -> CustomerMerge:
    merge = CustomerMerge(survivor_id=survivor_id, merged_id=merged_id, reason=reason, actor=actor, merged_at=now)
    session.add(merge)
    await session.flush()
    return merge


async def open_merge_of(session: AsyncSession, merged_id: int) -> CustomerMerge | None:
    rows = await session.execute(
        select(CustomerMerge)
        .where(CustomerMerge.merged_id == merged_id, CustomerMerge.undone_at.is_(None))
        .order_by(CustomerMerge.id.desc())
    )
    return rows.scalars().first()


async def merges_touching(session: AsyncSession, ids: Sequence[int]) -> list[CustomerMerge]:
    rows = await session.execute(
        select(CustomerMerge)
        .where(CustomerMerge.survivor_id.in_(list(ids)) | CustomerMerge.merged_id.in_(list(ids)))
        .order_by(CustomerMerge.id)
    )
    return list(rows.scalars())


async def add_external_ids(session: AsyncSession, external_userids: Sequence[str], now: datetime) -> None:
    """Create bare customers for external_userids seen for the first time (one statement for a page)."""
    if not external_userids:
        return
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    rows = [{"external_userid": e, "name": "", "first_seen_at": now} for e in dict.fromkeys(external_userids)]
    await session.execute(insert(Customer).on_conflict_do_nothing(index_elements=["external_userid"]), rows)
