"""Keep customers, their follow relationships, tags and members in step with the directory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.directory import ContactDirectory, ExternalContactInfo, FollowInfo
from services.customers.identity import link_by_unionid
from services.customers.tag_events import record_tags_added_by
from storage.models.customers import Customer, CustomerFollow, FollowStatus
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
    customer = await contacts.customer_by_external_id(session, external_userid)
    if customer is None:
        customer = await contacts.add_customer(session, external_userid, info.name if info else fallback_name, now)
    await contacts.lock_customer(session, customer)
    if info is not None:
        _copy_profile(customer, info)
    elif fallback_name and not customer.name:
        customer.name = fallback_name
    follows = {f.userid: f for f in await contacts.follows_of(session, customer.id)}
    current = {f.userid: f for f in info.follows} if info else {}
    ended = [u for u, f in follows.items() if u not in current and f.status == FollowStatus.ACTIVE]
    for userid in ended:
        follows[userid].status, follows[userid].ended_at = FollowStatus.ENDED, now
    await _store_follows(session, customer, follows, list(current.values()), now, untag=ended)
    _update_lifecycle(customer, list(follows.values()), now)
    customer.synced_at = now
    await link_by_unionid(session, customer, now)
    return customer


async def apply_follows(session: AsyncSession, info: ExternalContactInfo, now: datetime) -> Customer:
    """Store the customer and the follows `info` lists, leaving their other follows alone: a batch/get_by_user item
    speaks for one member only. A placeholder (stored from a message) gains its name, owner and tags here."""
    customer = await contacts.customer_by_external_id(session, info.external_userid)
    if customer is None:
        customer = await contacts.add_customer(session, info.external_userid, info.name, now)
    await contacts.lock_customer(session, customer)
    _copy_profile(customer, info)
    follows = {f.userid: f for f in await contacts.follows_of(session, customer.id)}
    await _store_follows(session, customer, follows, list(info.follows), now)
    _update_lifecycle(customer, list(follows.values()), now)
    customer.synced_at = now
    await link_by_unionid(session, customer, now)
    return customer


def _copy_profile(customer: Customer, info: ExternalContactInfo) -> None:
    customer.name = info.name or customer.name
    customer.avatar, customer.corp_name = info.avatar, info.corp_name
    customer.contact_type, customer.gender = info.contact_type, info.gender
    customer.unionid = info.unionid or customer.unionid


async def _store_follows(
    session: AsyncSession,
    customer: Customer,
    follows: dict[str, CustomerFollow],
    infos: list[FollowInfo],
    now: datetime,
    untag: Sequence[str] = (),
) -> None:
    """Store these follows and their tags (and take every tag off the `untag` members' ended follows): new follows
    in one insert, the tags as one difference, the tag_added entries in one insert, whatever the follow count."""
    known = {i.userid for i in infos if i.userid in follows}
    new_follows = [i.userid for i in infos if i.userid not in follows]
    follows.update(await contacts.add_follows(session, customer.id, new_follows))
    wanted: dict[str, list[contacts.TagTriple]] = {userid: [] for userid in untag}
    for info in infos:
        _copy_follow(follows[info.userid], info)
        wanted[info.userid] = [(t.tag_id, t.name, t.group_name) for t in info.tags]
    added = await contacts.sync_tags(session, customer.id, wanted)
    # A first import of a follow brings its old tags, which were not "added" now.
    await record_tags_added_by(session, customer.id, {u: tags for u, tags in added.items() if u in known}, now)


def _copy_follow(follow: CustomerFollow, info: FollowInfo) -> None:
    follow.remark, follow.description = info.remark, info.description
    follow.state, follow.add_way = info.state, info.add_way
    if info.added_at is not None:
        follow.added_at = info.added_at
    follow.status, follow.ended_at = FollowStatus.ACTIVE, None


def _update_lifecycle(customer: Customer, follows: list[CustomerFollow], now: datetime) -> None:
    """Owner = the member who has had the customer longest; lost = every member relationship has ended."""
    active = sorted(
        (f for f in follows if f.status == FollowStatus.ACTIVE),
        key=lambda f: (f.added_at or now, f.id),
    )
    if active:
        customer.owner_userid = active[0].userid
        first = active[0].added_at or now
        if customer.became_contact_at is None or first < customer.became_contact_at:
            customer.became_contact_at = first
        customer.lost_at = None
    elif follows and customer.lost_at is None:
        customer.lost_at = now


async def end_follow(
    session: AsyncSession, customer: Customer, userid: str, status: FollowStatus, now: datetime
) -> None:
    """Record who ended a relationship before the directory snapshot marks it gone."""
    for follow in await contacts.follows_of(session, customer.id):
        if follow.userid == userid and follow.status == FollowStatus.ACTIVE:
            follow.status, follow.ended_at = status, now
            await contacts.replace_tags(session, customer.id, userid, [])
