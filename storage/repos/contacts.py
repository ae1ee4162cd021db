"""Customers, their follow relationships and tags, and members."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.models.customers import Customer, CustomerFollow, CustomerTag, FollowStatus, Member


def insert_for(session: AsyncSession, model: type[Any]) -> Any:
    """The dialect's INSERT, which has ON CONFLICT: two writers adding the same row is an upsert, not an error."""
    return (pg_insert if dialect_of(session) == "postgresql" else sqlite_insert)(model)


async def customer_by_external_id(session: AsyncSession, external_userid: str) -> Customer | None:
    return (
        await session.execute(select(Customer).where(Customer.external_userid == external_userid))
    ).scalar_one_or_none()


async def lock_customer(session: AsyncSession, customer: Customer) -> None:
    """On PostgreSQL, hold the customer's row until commit, so two writers refreshing the same customer's follows
    and tags take turns instead of deadlocking on them (FOR NO KEY UPDATE: rows that merely reference the customer
    can still be inserted). SQLite has one writer at a time already."""
    if dialect_of(session) == "postgresql":
        await session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update(key_share=True))


async def customers_by_external_ids(session: AsyncSession, ids: Iterable[str]) -> dict[str, Customer]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Customer).where(Customer.external_userid.in_(wanted)))
    return {c.external_userid: c for c in rows.scalars() if c.external_userid}


async def customer_by_id(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def add_customer(session: AsyncSession, external_userid: str, name: str, now: datetime) -> Customer:
    """The customer with this external_userid, inserted unless a concurrent writer (a message, a group sync, the
    contact import) stored them first; then theirs is returned and filled in by the caller."""
    stmt = insert_for(session, Customer).values(external_userid=external_userid, name=name, first_seen_at=now)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["external_userid"]))
    customer = await customer_by_external_id(session, external_userid)
    assert customer is not None  # inserted now or by a writer that committed before our insert went through
    return customer


async def add_customers(
    session: AsyncSession, rows: Sequence[Mapping[str, object]], now: datetime
) -> dict[str, Customer]:
    """`add_customer` for several (each row: external_userid, name and any other profile columns, every row the same
    keys): one INSERT, one read back; customers a concurrent writer stored first are returned as theirs."""
    values = [{**row, "first_seen_at": now} for row in rows]
    if not values:
        return {}
    stmt = insert_for(session, Customer).values(values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["external_userid"]))
    return await customers_by_external_ids(session, [str(row["external_userid"]) for row in rows])


async def lock_customers(session: AsyncSession, customer_ids: Sequence[int]) -> None:
    """`lock_customer` for several, in one statement, in id order (two writers locking overlapping sets wait for
    each other instead of deadlocking)."""
    if dialect_of(session) == "postgresql" and customer_ids:
        await session.execute(
            select(Customer.id)
            .where(Customer.id.in_(sorted(set(customer_ids))))
            .order_by(Customer.id)
            .with_for_update(key_share=True)
        )


async def follows_of_customers(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, dict[str, CustomerFollow]]:
    """Each customer's follows by member userid, in one read."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(CustomerFollow)
        .where(CustomerFollow.customer_id.in_(sorted(set(customer_ids))))
        .order_by(CustomerFollow.id)
    )
    found: dict[int, dict[str, CustomerFollow]] = {}
    for follow in rows.scalars():
        found.setdefault(follow.customer_id, {})[follow.userid] = follow
    return found


async def follows_of(session: AsyncSession, customer_id: int) -> list[CustomerFollow]:
    rows = await session.execute(
        select(CustomerFollow).where(CustomerFollow.customer_id == customer_id).order_by(CustomerFollow.id)
    )
    return list(rows.scalars())


async def add_follow(session: AsyncSession, customer_id: int, userid: str) -> CustomerFollow:
    stmt = insert_for(session, CustomerFollow).values(
        customer_id=customer_id, userid=userid, status=FollowStatus.ACTIVE
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["customer_id", "userid"]))
    found = await session.execute(
        select(CustomerFollow).where(CustomerFollow.customer_id == customer_id, CustomerFollow.userid == userid)
    )
    return found.scalar_one()


async def add_follows(
    session: AsyncSession, rows: Sequence[Mapping[str, object]]
) -> dict[tuple[int, str], CustomerFollow]:
    """Insert follows (each row: customer_id, userid and the other columns, every row the same keys; a concurrent
    writer's row is kept) and return them by (customer_id, userid): two statements however many."""
    if not rows:
        return {}
    stmt = insert_for(session, CustomerFollow).values(list(rows))
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["customer_id", "userid"]))
    keys = list(dict.fromkeys((int(str(r["customer_id"])), str(r["userid"])) for r in rows))
    found = await session.execute(
        select(CustomerFollow).where(
            CustomerFollow.customer_id.in_(sorted({c for c, _ in keys})),  # so SQLite searches the index
            tuple_(CustomerFollow.customer_id, CustomerFollow.userid).in_(keys),
        )
    )
    return {(f.customer_id, f.userid): f for f in found.scalars()}


TagTriple = tuple[str, str, str]  # (tag_id, tag_name, group_name)


FollowKey = tuple[int, str]  # (customer_id, member userid): tags are per follow relationship


async def sync_tags(
    session: AsyncSession, wanted: Mapping[FollowKey, Sequence[TagTriple]]
) -> dict[FollowKey, list[tuple[str, str]]]:
    """Set the tags on each follow in `wanted` (other follows are left alone), writing only the difference: one
    read of their tags, one DELETE for the tags taken off, one upsert for those put on or renamed. Returns, per
    follow, the (tag_id, tag_name) pairs that are new, for the tag_added trigger."""
    if not wanted:
        return {}
    stored: dict[FollowKey, dict[str, tuple[str, str]]] = {key: {} for key in wanted}
    rows = await session.execute(
        select(CustomerTag.customer_id, CustomerTag.userid, CustomerTag.tag_id, CustomerTag.tag_name)
        .add_columns(CustomerTag.group_name)
        .where(
            # The plain IN lets SQLite search the primary key's index; a row-value IN alone may scan all of it.
            CustomerTag.customer_id.in_(sorted({c for c, _ in wanted})),
            tuple_(CustomerTag.customer_id, CustomerTag.userid).in_(list(wanted)),
        )
    )
    for customer_id, userid, tag_id, name, group in rows.all():
        stored[(customer_id, userid)][tag_id] = (name, group)
    gone, upserts, new = _tag_difference(stored, wanted)
    if gone:
        await session.execute(
            delete(CustomerTag).where(
                CustomerTag.customer_id.in_(sorted({c for c, _, _ in gone})),
                tuple_(CustomerTag.customer_id, CustomerTag.userid, CustomerTag.tag_id).in_(gone),
            )
        )
    if upserts:
        stmt = insert_for(session, CustomerTag).values(upserts)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["customer_id", "userid", "tag_id"],
                set_={"tag_name": stmt.excluded.tag_name, "group_name": stmt.excluded.group_name},
            )
        )
    return new


def _tag_difference(
    stored: Mapping[FollowKey, Mapping[str, tuple[str, str]]], wanted: Mapping[FollowKey, Sequence[TagTriple]]
) -> tuple[list[tuple[int, str, str]], list[dict[str, str | int]], dict[FollowKey, list[tuple[str, str]]]]:
    """(customer_id, userid, tag_id) to delete, rows to upsert, and per follow the (tag_id, tag_name) pairs that
    are new."""
    gone: list[tuple[int, str, str]] = []
    upserts: list[dict[str, str | int]] = []
    new: dict[FollowKey, list[tuple[str, str]]] = {}
    for (customer_id, userid), tags in wanted.items():
        keep = {tag_id: (name, group) for tag_id, name, group in dict.fromkeys(tags)}
        had = stored[(customer_id, userid)]
        gone += [(customer_id, userid, tag_id) for tag_id in had if tag_id not in keep]
        upserts += [
            {"customer_id": customer_id, "userid": userid, "tag_id": tag_id, "tag_name": name, "group_name": group}
            for tag_id, (name, group) in keep.items()
            if had.get(tag_id) != (name, group)
        ]
        new[(customer_id, userid)] = [(tag_id, name) for tag_id, (name, _) in keep.items() if tag_id not in had]
    return gone, upserts, new


async def replace_tags(
    session: AsyncSession, customer_id: int, userid: str, tags: Sequence[tuple[str, str, str]]
) -> list[tuple[str, str]]:
    """Set the tags one member put on a customer: (tag_id, tag_name, group_name) triples; returns the (tag_id,
    tag_name) pairs that are new, for the tag_added trigger."""
    had = set(
        await session.scalars(
            select(CustomerTag.tag_id).where(CustomerTag.customer_id == customer_id, CustomerTag.userid == userid)
        )
    )
    await session.execute(
        delete(CustomerTag).where(CustomerTag.customer_id == customer_id, CustomerTag.userid == userid)
    )
    rows = [
        {"customer_id": customer_id, "userid": userid, "tag_id": tag_id, "tag_name": name, "group_name": group}
        for tag_id, name, group in dict.fromkeys(tags)
    ]
    if rows:
        # A concurrent writer may have put the same tags back between our delete and insert.
        stmt = insert_for(session, CustomerTag).values(rows)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["customer_id", "userid", "tag_id"],
                set_={"tag_name": stmt.excluded.tag_name, "group_name": stmt.excluded.group_name},
            )
        )
    return [(tag_id, name) for tag_id, name, _ in dict.fromkeys(tags) if tag_id not in had]


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


async def upsert_member(session: AsyncSession, userid: str, name: str, position: str, now: datetime) -> None:
    """Insert or refresh a member; two workers meeting the same new member both succeed (ON CONFLICT)."""
    stmt = insert_for(session, Member).values(userid=userid, name=name, position=position, synced_at=now)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["userid"],
            set_={"name": stmt.excluded.name, "position": stmt.excluded.position, "synced_at": stmt.excluded.synced_at},
        )
    )
