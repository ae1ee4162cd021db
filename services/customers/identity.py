"""One person, one profile: resolve channel identities to customers, link by unionid, merge and unmerge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import Customer
from storage.repos import contacts, identity, timeline

# A merge chain is never deeper than this; a longer one means a cycle, which merge() refuses to create.
MAX_CHAIN = 16


class MergeError(Exception):
    """A merge or unmerge that cannot be done; the message is Chinese, for the manager who asked."""


async def root_of(session: AsyncSession, customer: Customer) -> Customer:
    """The profile a merged customer now shows under (itself when not merged)."""
    current = customer
    for _ in range(MAX_CHAIN):
        if current.merged_into_id is None:
            return current
        parent = await contacts.customer_by_id(session, current.merged_into_id)
        if parent is None:
            return current
        current = parent
    return current


async def cluster_ids(session: AsyncSession, root_id: int) -> list[int]:
    """The root and every profile merged into it (directly or through another merged profile)."""
    ids, frontier = [root_id], [root_id]
    while frontier and len(ids) < 10_000:
        children = [c.id for parent in frontier for c in await identity.merged_into(session, parent)]
        ids.extend(children)
        frontier = children
    return ids


async def customer_for_external(
    session: AsyncSession, external_userid: str, now: datetime, *, name: str = "", unionid: str = ""
) -> Customer:
    """The stored customer with this external_userid, created on first sight (a kf visitor, an archive sender)."""
    customer = await contacts.customer_by_external_id(session, external_userid)
    if customer is None and unionid:
        # The same person seen first on the OA: their profile gains the external_userid, no merge needed.
        owners = [c for c in await identity.roots_with_unionid(session, unionid) if c.external_userid is None]
        if owners:
            customer = owners[0]
            customer.external_userid = external_userid
    if customer is None:
        customer = await identity.add_person(session, now, external_userid=external_userid, name=name)
    if name and not customer.name:
        customer.name = name
    if unionid and not customer.unionid:
        customer.unionid = unionid
        await link_by_unionid(session, customer, now)
    return customer


async def customer_for_openid(
    session: AsyncSession, openid: str, now: datetime, *, unionid: str = "", name: str = ""
) -> Customer:
    """The customer behind an OA follower: known by openid, else the profile sharing its unionid, else a new one."""
    customer = await identity.by_openid(session, openid)
    if customer is None and unionid:
        owners = [c for c in await identity.roots_with_unionid(session, unionid) if c.oa_openid is None]
        if owners:
            customer = owners[0]
            customer.oa_openid = openid
    if customer is None:
        customer = await identity.add_person(
            session, now, openid=openid, unionid=unionid, name=name or f"公众号粉丝{openid[-4:]}"
        )
    elif unionid and not customer.unionid:
        customer.unionid = unionid
        await link_by_unionid(session, customer, now)
    return customer


async def link_by_unionid(session: AsyncSession, customer: Customer, now: datetime) -> None:
    """A unionid shared with another profile means one person: merge the younger profile into the older one."""
    if not customer.unionid:
        return
    root = await root_of(session, customer)
    others = [c for c in await identity.roots_with_unionid(session, customer.unionid) if c.id != root.id]
    for other in others:
        if await _separated_by_a_manager(session, root.id, other.id):
            continue  # a manager unmerged these two: a shared unionid found later does not overrule them
        # The WeCom contact is the richer profile (owner, tags, groups); otherwise the older one survives.
        rank = sorted((root, other), key=lambda c: (c.external_userid is None, c.first_seen_at, c.id))
        survivor, merged = rank[0], rank[1]
        await _merge(session, survivor, merged, "unionid", "", now)
        root = survivor


async def merge(session: AsyncSession, survivor_id: int, merged_id: int, actor: str, now: datetime) -> Customer:
    """A manager's merge of `merged_id` into `survivor_id` (both resolved to their current profiles)."""
    survivor = await _existing(session, survivor_id)
    merged = await _existing(session, merged_id)
    survivor, merged = await root_of(session, survivor), await root_of(session, merged)
    if survivor.id == merged.id:
        raise MergeError(f"客户 {survivor_id} 和 {merged_id} 已经是同一个客户")
    await _merge(session, survivor, merged, "manual", actor, now)
    return survivor


async def unmerge(session: AsyncSession, merged_id: int, actor: str, now: datetime) -> Customer:
    """Undo the merge that put `merged_id` under another profile; its own data was never moved."""
    merged = await _existing(session, merged_id)
    if merged.merged_into_id is None:
        raise MergeError(f"客户 {merged_id} 没有被合并到其他客户")
    record = await identity.open_merge_of(session, merged.id)
    survivor_id = merged.merged_into_id
    merged.merged_into_id = None
    if record is not None:
        record.undone_at = now
    key = f"unmerge:{merged.id}:{record.id if record else 0}"
    detail = {"other_id": merged.id, "other_name": merged.name, "actor": actor}
    await timeline.add_event_once(
        session, customer_id=survivor_id, kind="unmerged", occurred_at=now, source_key=key, detail=detail
    )
    detail = {"other_id": survivor_id, "actor": actor}
    await timeline.add_event_once(
        session, customer_id=merged.id, kind="unmerged", occurred_at=now, source_key=key + ":self", detail=detail
    )
    return merged


async def _merge(
    session: AsyncSession, survivor: Customer, merged: Customer, reason: str, actor: str, now: datetime
) -> None:
    merged.merged_into_id = survivor.id
    record = await identity.add_merge(session, survivor.id, merged.id, reason, actor, now)
    detail = {"other_id": merged.id, "other_name": merged.name, "reason": reason, "actor": actor}
    await timeline.add_event_once(
        session,
        customer_id=survivor.id,
        kind="merged",
        occurred_at=now,
        source_key=f"merge:{record.id}",
        detail=detail,
    )


async def _separated_by_a_manager(session: AsyncSession, one_id: int, other_id: int) -> bool:
    pair = {one_id, other_id}
    merges = await identity.merges_touching(session, [one_id])
    return any(m.undone_at is not None and {m.survivor_id, m.merged_id} == pair for m in merges)


async def _existing(session: AsyncSession, customer_id: int) -> Customer:
    customer = await contacts.customer_by_id(session, customer_id)
    if customer is None:
        raise MergeError(f"没有编号为 {customer_id} 的客户")
    return customer
