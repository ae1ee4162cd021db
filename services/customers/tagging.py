"""Editing a customer's tags from Qunke: names resolved to WeCom's tag ids, the change sent through mark_tag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.tag_events import record_tags_added
from services.outbox.queue import queue_mark_tag
from services.purchases.recording import resolve_customers
from storage.models.customers import Customer, CustomerTag
from storage.repos import contacts


class TagError(ValueError):
    """A tag change that cannot be made; the message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class TagChange:
    customer_id: int
    owner: str
    added: list[str]
    removed: list[str]
    outbox_id: int


async def known_tags(session: AsyncSession) -> dict[str, str]:
    """Tag name -> tag id, as WeCom reported them on customers (the corp's tag library as Qunke has seen it)."""
    rows = await session.execute(select(CustomerTag.tag_name, CustomerTag.tag_id).distinct())
    return {name: tag_id for name, tag_id in rows if name}


async def change_tags(
    session: AsyncSession, now: datetime, customer_ref: str, add: Sequence[str], remove: Sequence[str]
) -> TagChange:
    if not add and not remove:
        raise TagError("请用 --add 或 --remove 指定标签 / give --add or --remove")
    found = await resolve_customers(session, [customer_ref])
    if customer_ref not in found:
        raise TagError(f"找不到客户 {customer_ref!r} / unknown customer")
    customer = await session.get(Customer, found[customer_ref])
    assert customer is not None
    if not customer.owner_userid or not customer.external_userid:
        raise TagError("客户没有负责人，无法通过企业微信打标签 / the customer has no owner rep to tag as")
    library = await known_tags(session)
    unknown = [name for name in (*add, *remove) if name not in library]
    if unknown:
        known = ", ".join(sorted(library)) or "-"
        raise TagError(f"未知标签：{', '.join(unknown)}（请先在企业微信管理后台创建）/ unknown tags; known: {known}")
    outbox_id = await queue_mark_tag(
        session,
        now,
        customer.owner_userid,
        customer.external_userid,
        [library[name] for name in add],
        [library[name] for name in remove],
    )
    return TagChange(customer.id, customer.owner_userid, list(add), list(remove), outbox_id)


async def apply_marked(session: AsyncSession, external_userid: str, payload: dict[str, object], now: datetime) -> None:
    """WeCom accepted a mark_tag: record the change on the rep's tags here, since API changes push no callback
    (WECOM.md §2b). Tag names come from the tags Qunke has seen; an id it has never seen keeps the id as name."""
    customer = await session.scalar(select(Customer).where(Customer.external_userid == external_userid))
    if customer is None:
        return
    userid = str(payload.get("userid", ""))
    added = _ids(payload.get("add_tag"))
    removed = set(_ids(payload.get("remove_tag")))
    current = await session.execute(
        select(CustomerTag.tag_id, CustomerTag.tag_name, CustomerTag.group_name).where(
            CustomerTag.customer_id == customer.id, CustomerTag.userid == userid
        )
    )
    kept = [(tag_id, name, group) for tag_id, name, group in current if tag_id not in removed]
    names = {tag_id: name for name, tag_id in (await known_tags(session)).items()}
    groups = dict(
        (tag_id, group)
        for tag_id, group in await session.execute(select(CustomerTag.tag_id, CustomerTag.group_name).distinct())
    )
    have = {tag_id for tag_id, _, _ in kept}
    kept += [(tag_id, names.get(tag_id, tag_id), groups.get(tag_id, "")) for tag_id in added if tag_id not in have]
    new = await contacts.replace_tags(session, customer.id, userid, kept)
    await record_tags_added(session, customer.id, userid, new, now)


def _ids(value: object) -> list[str]:
    return [str(t) for t in value if isinstance(t, str)] if isinstance(value, list) else []
