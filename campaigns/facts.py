"""What a run needs to know of a batch of customers, read in a few set-based queries (never one per customer)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.segment_sql import UNSCORED_TIER
from campaigns.templates import CustomerFacts
from storage.models.campaigns import ContactPref, CustomerAttribute, RfmScore
from storage.models.customers import Customer, Member
from storage.models.outbox import KfWindow
from storage.models.purchases import Purchase


@dataclass(frozen=True, slots=True)
class Recipient:
    """One customer of a batch: who they are, who owns them, and the facts their message may use."""

    customer_id: int
    external_userid: str
    owner_userid: str
    facts: CustomerFacts


async def recipients(session: AsyncSession, ids: Collection[int], now: datetime) -> list[Recipient]:
    id_list = list(ids)
    customers = (
        await session.execute(
            select(Customer.id, Customer.name, Customer.external_userid, Customer.owner_userid, Member.name)
            .outerjoin(Member, Member.userid == Customer.owner_userid)
            .where(Customer.id.in_(id_list))
            .order_by(Customer.id)
        )
    ).all()
    tier_rows = await session.execute(
        select(RfmScore.customer_id, RfmScore.tier).where(RfmScore.customer_id.in_(id_list))
    )
    tiers = {int(cid): str(tier) for cid, tier in tier_rows}
    last = await _last_purchases(session, id_list)
    attributes: dict[int, dict[str, str]] = defaultdict(dict)
    for cid, name, value in await session.execute(
        select(CustomerAttribute.customer_id, CustomerAttribute.name, CustomerAttribute.value).where(
            CustomerAttribute.customer_id.in_(id_list)
        )
    ):
        attributes[int(cid)][name] = value
    result: list[Recipient] = []
    for cid, name, external, owner, owner_name in customers:
        item, at = last.get(int(cid), ("", None))
        days = None if at is None else max(0, (now - (at if at.tzinfo else at.replace(tzinfo=now.tzinfo))).days)
        facts = CustomerFacts(
            int(cid),
            name or "",
            owner_name or owner or "",
            tiers.get(int(cid), UNSCORED_TIER),
            item,
            days,
            dict(attributes.get(int(cid), {})),
        )
        result.append(Recipient(int(cid), external or "", owner or "", facts))
    return result


async def _last_purchases(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, datetime]]:
    latest = (
        select(Purchase.customer_id, func.max(Purchase.purchased_at).label("at"))
        .where(Purchase.customer_id.in_(ids))
        .group_by(Purchase.customer_id)
        .subquery()
    )
    rows = await session.execute(
        select(Purchase.customer_id, Purchase.item, Purchase.purchased_at)
        .join(latest, (latest.c.customer_id == Purchase.customer_id) & (latest.c.at == Purchase.purchased_at))
        .order_by(Purchase.id)
    )
    return {int(cid): (item, at) for cid, item, at in rows}


async def opted_out(session: AsyncSession, ids: Collection[int]) -> set[int]:
    rows = await session.scalars(
        select(ContactPref.customer_id).where(
            ContactPref.customer_id.in_(list(ids)), ContactPref.opted_out_at.is_not(None)
        )
    )
    return set(rows)


async def open_kf_windows(
    session: AsyncSession, external_userids: Collection[str], opened_after: datetime, quota: int
) -> dict[str, str]:
    """external_userid -> open_kfid of a kf session the bot may still write in (48 h, quota left, state 0/1)."""
    rows = await session.execute(
        select(KfWindow.external_userid, KfWindow.open_kfid)
        .where(KfWindow.external_userid.in_(list(external_userids)))
        .where(KfWindow.last_customer_message_at >= opened_after, KfWindow.sends_since < quota)
        .where((KfWindow.session_state.is_(None)) | (KfWindow.session_state.in_((0, 1))))
        .order_by(KfWindow.last_customer_message_at)
    )
    return {ext: kfid for ext, kfid in rows}
