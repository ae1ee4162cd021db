"""Keep customers, their follow relationships, tags and members in step with the directory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.contact_sync import (
    DirectoryAnswer,
    FollowWrite,
    apply_contacts,
    copy_profile,
    store_follows,
    update_lifecycle,
)
from services.customers.directory import ContactDirectory, ExternalContactInfo
from services.customers.identity import link_by_unionid
from storage.models.customers import Customer, FollowStatus
from storage.repos import contacts


async def fetch_unknown_members(
    session: AsyncSession, directory: ContactDirectory, userids: Iterable[str], now: datetime
) -> None:
    """Store name and position of members we have not seen yet (reads happen before any write)."""
    wanted = {u for u in userids if u}
    known = await contacts.members_by_ids(session, wanted)
    # Every read before the first write: on SQLite a write holds the database's one write lock until commit.
    found = {userid: await directory.get_member(userid) for userid in sorted(wanted - set(known))}
    for userid, info in found.items():
        await contacts.upsert_member(session, userid, info.name if info else "", info.position if info else "", now)


async def apply_contact(
    session: AsyncSession,
    external_userid: str,
    info: ExternalContactInfo | None,
    now: datetime,
    *,
    fallback_name: str = "",
) -> Customer:
    """Make the stored customer match the directory's answer; None info means nobody has them any more."""
    found = await apply_contacts(session, [DirectoryAnswer(external_userid, info, fallback_name)], now)
    return found[external_userid]


async def apply_follows(session: AsyncSession, info: ExternalContactInfo, now: datetime) -> Customer:
    """Store the customer and the follows `info` lists, leaving their other follows alone: a batch/get_by_user item
    speaks for one member only. A placeholder (stored from a message) gains its name, owner and tags here."""
    customer = await contacts.customer_by_external_id(session, info.external_userid)
    if customer is None:
        customer = await contacts.add_customer(session, info.external_userid, info.name, now)
    await contacts.lock_customer(session, customer)
    copy_profile(customer, info)
    follows = {f.userid: f for f in await contacts.follows_of(session, customer.id)}
    await store_follows(session, [FollowWrite(customer, follows, list(info.follows))], now)
    update_lifecycle(customer, list(follows.values()), now)
    customer.synced_at = now
    await link_by_unionid(session, customer, now)
    return customer


async def end_follow(
    session: AsyncSession, customer: Customer, userid: str, status: FollowStatus, now: datetime
) -> None:
    """Record who ended a relationship before the directory snapshot marks it gone."""
    for follow in await contacts.follows_of(session, customer.id):
        if follow.userid == userid and follow.status == FollowStatus.ACTIVE:
            follow.status, follow.ended_at = status, now
            await contacts.replace_tags(session, customer.id, userid, [])
