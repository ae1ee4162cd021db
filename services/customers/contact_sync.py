"""Write directory answers about customers set-based: a statement per step for all of them, not per follow or tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.directory import ExternalContactInfo, FollowInfo
from services.customers.identity import link_by_unionid
from services.customers.tag_events import record_tags_added_by
from storage.models.customers import Customer, CustomerFollow, FollowStatus
from storage.repos import contacts, identity

Follows = dict[str, CustomerFollow]  # one customer's follows by member userid


@dataclass(frozen=True, slots=True)
class DirectoryAnswer:
    """What externalcontact/get said about one customer: None means nobody has them any more. `fallback_name`
    names a customer the directory did not (a group member's nickname)."""

    external_userid: str
    info: ExternalContactInfo | None
    fallback_name: str = ""


@dataclass(slots=True)
class FollowWrite:
    """One customer's follows to store (`infos`), and members whose follow ended and loses its tags (`ended`)."""

    customer: Customer
    follows: Follows
    infos: list[FollowInfo]
    ended: list[str] = field(default_factory=list)


async def apply_contacts(
    session: AsyncSession,
    answers: Sequence[DirectoryAnswer],
    now: datetime,
    known: Mapping[str, Customer] | None = None,
) -> dict[str, Customer]:
    """Make the stored customers match the directory's answers (a group's first read brings up to hundreds): the
    customers read or added, locked, their follows read, new follows added, tags diffed and written, tag_added
    entries written, each one statement for all of them. `known`: the caller read every stored one of them
    already (the rest are added, or read back if a concurrent writer added them first)."""
    by_id = {a.external_userid: a for a in answers}
    if not by_id:
        return {}
    customers = await _stored_or_added(session, by_id, now, known)
    await contacts.lock_customers(session, [c.id for c in customers.values()])
    stored = await contacts.follows_of_customers(session, [c.id for c in customers.values()])
    writes = []
    for external_userid, answer in by_id.items():
        customer = customers[external_userid]
        if answer.info is not None:
            copy_profile(customer, answer.info)
        elif answer.fallback_name and not customer.name:
            customer.name = answer.fallback_name
        follows = stored.setdefault(customer.id, {})
        current = {f.userid: f for f in answer.info.follows} if answer.info else {}
        ended = [u for u, f in follows.items() if u not in current and f.status == FollowStatus.ACTIVE]
        for userid in ended:
            follows[userid].status, follows[userid].ended_at = FollowStatus.ENDED, now
        writes.append(FollowWrite(customer, follows, list(current.values()), ended))
    await store_follows(session, writes, now)
    for write in writes:
        update_lifecycle(write.customer, list(write.follows.values()), now)
        write.customer.synced_at = now
    await link_unionids(session, [w.customer for w in writes], now)
    return customers


async def _stored_or_added(
    session: AsyncSession, by_id: Mapping[str, DirectoryAnswer], now: datetime, known: Mapping[str, Customer] | None
) -> dict[str, Customer]:
    if known is None:
        found = await contacts.customers_by_external_ids(session, by_id)
    else:
        found = {i: known[i] for i in by_id if i in known}
    missing = [_new_customer(a) for i, a in by_id.items() if i not in found]
    if missing:
        found.update(await contacts.add_customers(session, missing, now))
    return found


def _new_customer(answer: DirectoryAnswer) -> dict[str, str | int]:
    """The row a customer is inserted with: the whole profile, so the insert needs no UPDATE after it."""
    info = answer.info
    if info is None:
        return {
            "external_userid": answer.external_userid,
            "name": answer.fallback_name,
            "avatar": "",
            "corp_name": "",
            "contact_type": 1,
            "gender": 0,
        }
    return {
        "external_userid": answer.external_userid,
        "name": info.name,
        "avatar": info.avatar,
        "corp_name": info.corp_name,
        "contact_type": info.contact_type,
        "gender": info.gender,
    }


async def store_follows(session: AsyncSession, writes: Sequence[FollowWrite], now: datetime) -> None:
    """Store the follows and their tags, and take every tag off ended follows: new follows in one insert, the tags
    as one difference, the tag_added entries in one insert."""
    known = {(w.customer.id, i.userid) for w in writes for i in w.infos if i.userid in w.follows}
    new = [_new_follow(w.customer.id, i) for w in writes for i in w.infos if i.userid not in w.follows]
    added_follows = await contacts.add_follows(session, new)
    wanted: dict[tuple[int, str], list[contacts.TagTriple]] = {}
    for w in writes:
        for userid in w.ended:
            wanted[(w.customer.id, userid)] = []
        for info in w.infos:
            if info.userid not in w.follows:
                w.follows[info.userid] = added_follows[(w.customer.id, info.userid)]
            copy_follow(w.follows[info.userid], info)
            wanted[(w.customer.id, info.userid)] = [(t.tag_id, t.name, t.group_name) for t in info.tags]
    added = await contacts.sync_tags(session, wanted)
    # A first import of a follow brings its old tags, which were not "added" now.
    await record_tags_added_by(session, {k: tags for k, tags in added.items() if k in known}, now)


def _new_follow(customer_id: int, info: FollowInfo) -> dict[str, object]:
    row: dict[str, object] = {
        "customer_id": customer_id,
        "userid": info.userid,
        "remark": info.remark,
        "description": info.description,
        "state": info.state,
        "add_way": info.add_way,
        "status": FollowStatus.ACTIVE,
        "added_at": info.added_at,
    }
    return row


async def link_unionids(session: AsyncSession, customers: Sequence[Customer], now: datetime) -> None:
    """Merge profiles that share a unionid: one read of every root holding one of these unionids, and the merge
    itself only for a customer another profile shares it with (or one already merged, whose root may differ)."""
    linked = [c for c in customers if c.unionid]
    if not linked:
        return
    roots = await identity.roots_with_unionids(session, {c.unionid for c in linked if c.unionid})
    for customer in linked:
        others = [r for r in roots.get(customer.unionid or "", []) if r.id != customer.id]
        if others or customer.merged_into_id is not None:
            await link_by_unionid(session, customer, now)


def copy_profile(customer: Customer, info: ExternalContactInfo) -> None:
    customer.name = info.name or customer.name
    customer.avatar, customer.corp_name = info.avatar, info.corp_name
    customer.contact_type, customer.gender = info.contact_type, info.gender
    customer.unionid = info.unionid or customer.unionid


def copy_follow(follow: CustomerFollow, info: FollowInfo) -> None:
    follow.remark, follow.description = info.remark, info.description
    follow.state, follow.add_way = info.state, info.add_way
    if info.added_at is not None:
        follow.added_at = info.added_at
    follow.status, follow.ended_at = FollowStatus.ACTIVE, None


def update_lifecycle(customer: Customer, follows: list[CustomerFollow], now: datetime) -> None:
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
