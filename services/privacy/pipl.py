"""PIPL (DESIGN.md §7, §12): export everything held about one person as JSON, and erase it for good."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from services.customers.identity import cluster_ids, root_of
from services.customers.profiles import customer_profile
from storage.db import dialect_of
from storage.models.campaigns import CampaignSend, ContactPref, CustomerAttribute, Followup, RfmScore
from storage.models.console import AuditEntry, Erasure
from storage.models.customers import Customer, CustomerEvent, CustomerFollow, CustomerMerge, CustomerTag
from storage.models.faq import FaqReply, OaPersonHold, UnansweredGroup, UnansweredQuestion
from storage.models.groups import GroupMember
from storage.models.inbox import InboundEvent
from storage.models.masstasks import MassTarget
from storage.models.messages import KfSession, Message
from storage.models.outbox import KfWindow, OaWindow, Outbox
from storage.models.purchases import Purchase
from storage.models.service import ChatWait, ChurnScore, ServiceAlert
from storage.models.surveys import CustomerScore, Survey
from storage.models.tickets import Ticket, TicketEvent

log = logging.getLogger("qunke.privacy")

# Tables keyed by customer_id, in the order they are erased (children before the rows they point at).
BY_CUSTOMER: list[tuple[str, type[DeclarativeBase]]] = [
    ("faq_replies", FaqReply),
    ("unanswered_questions", UnansweredQuestion),
    ("oa_person_holds", OaPersonHold),
    ("chat_waits", ChatWait),
    ("surveys", Survey),
    ("service_alerts", ServiceAlert),
    ("churn_scores", ChurnScore),
    ("customer_scores", CustomerScore),
    ("purchases", Purchase),
    ("tickets", Ticket),
    ("messages", Message),
    ("customer_events", CustomerEvent),
    ("customer_tags", CustomerTag),
    ("customer_follows", CustomerFollow),
    ("group_members", GroupMember),
    ("kf_sessions", KfSession),
    ("campaign_sends", CampaignSend),
    ("followups", Followup),
    ("customer_attributes", CustomerAttribute),
    ("contact_prefs", ContactPref),
    ("rfm_scores", RfmScore),
]


class PrivacyError(Exception):
    """The person asked for does not exist."""


def _row(obj: Any) -> dict[str, Any]:
    values = {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs}
    return {k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in values.items()}


async def _person(session: AsyncSession, customer_id: int) -> tuple[list[int], list[Customer], list[str]]:
    """The ids of the person's profiles (merged ones too), the rows, and the identifiers other tables key on."""
    asked = await session.get(Customer, customer_id)
    if asked is None:
        raise PrivacyError(f"没有 ID 为 {customer_id} 的客户")
    root = await root_of(session, asked)
    ids = await cluster_ids(session, root.id)
    people = list((await session.execute(select(Customer).where(Customer.id.in_(ids)))).scalars())
    names = {p.external_userid for p in people} | {p.oa_openid for p in people} | {p.unionid for p in people}
    return ids, people, sorted(n for n in names if n)


def _mentions(column: Any, identifiers: list[str]) -> Any:
    return or_(*[column.like(f"%{i}%") for i in identifiers]) if identifiers else false()


def _outbox_to(identifiers: list[str]) -> Any:
    return or_(_mentions(Outbox.recipient, identifiers), _mentions(cast(Outbox.payload, Text), identifiers))


async def export_person(session: AsyncSession, customer_id: int) -> dict[str, Any]:
    """One JSON-ready document: the profile and every row about the person, table by table."""
    ids, people, identifiers = await _person(session, customer_id)
    profile = await customer_profile(session, customer_id)
    tables: dict[str, list[dict[str, Any]]] = {"customers": [_row(p) for p in people]}
    for name, model in BY_CUSTOMER:
        column = model.__table__.c.customer_id
        rows = await session.execute(select(model).where(column.in_(ids)))
        tables[name] = [_row(r) for r in rows.scalars()]
    ticket_ids = [t["id"] for t in tables["tickets"]]
    events = await session.execute(select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)))
    tables["ticket_events"] = [_row(r) for r in events.scalars()]
    merges = await session.execute(
        select(CustomerMerge).where(or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids)))
    )
    tables["customer_merges"] = [_row(r) for r in merges.scalars()]
    tables["outbox"] = [
        _row(r) for r in (await session.execute(select(Outbox).where(_outbox_to(identifiers)))).scalars()
    ]
    inbound = await session.execute(select(InboundEvent).where(_mentions(InboundEvent.payload, identifiers)))
    tables["inbound_events"] = [_row(r) for r in inbound.scalars()]
    targets = await session.execute(select(MassTarget).where(MassTarget.target_id.in_(identifiers)))
    tables["mass_targets"] = [_row(r) for r in targets.scalars()]
    audit = await session.execute(select(AuditEntry).where(AuditEntry.target.in_([f"customer:{i}" for i in ids])))
    tables["audit_log"] = [_row(r) for r in audit.scalars()]
    return {
        "customer_id": customer_id,
        "profile": profile.to_dict() if profile is not None else None,
        "tables": tables,
    }


async def erase_person(session: AsyncSession, now: datetime, customer_id: int, actor: str) -> dict[str, int]:
    """Hard-delete the person's data in every table; leaves an `erasures` tombstone with counts, no identifiers.

    On SQLite the deletes run with secure_delete so freed pages are zeroed; call `scrub_file` after the commit.
    """
    ids, _, identifiers = await _person(session, customer_id)
    if dialect_of(session) == "sqlite":
        await session.execute(select(1))  # make sure the connection exists before setting its pragma
        await (await session.connection()).exec_driver_sql("PRAGMA secure_delete=ON")
    counts: dict[str, int] = {}

    async def gone(name: str, statement: Any) -> None:
        result = await session.execute(statement)
        counts[name] = counts.get(name, 0) + int(getattr(result, "rowcount", 0) or 0)

    await _relabel_unanswered_groups(session, ids)
    for name, model in BY_CUSTOMER:
        column = model.__table__.c.customer_id
        await gone(name, delete(model).where(column.in_(ids)))
    await gone("messages", delete(Message).where(Message.sender_id.in_(identifiers)))
    await gone("inbound_events", delete(InboundEvent).where(_mentions(InboundEvent.payload, identifiers)))
    await gone("outbox", delete(Outbox).where(_outbox_to(identifiers)))
    await gone("mass_targets", delete(MassTarget).where(MassTarget.target_id.in_(identifiers)))
    await gone("kf_windows", delete(KfWindow).where(KfWindow.external_userid.in_(identifiers)))
    await gone("oa_windows", delete(OaWindow).where(OaWindow.openid.in_(identifiers)))
    merged = or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids))
    await gone("customer_merges", delete(CustomerMerge).where(merged))
    await session.execute(update(Customer).where(Customer.id.in_(ids)).values(merged_into_id=None))
    await gone("customers", delete(Customer).where(Customer.id.in_(ids)))
    session.add(Erasure(erased_at=now, actor=actor, counts=counts))
    return counts


async def _relabel_unanswered_groups(session: AsyncSession, ids: list[int]) -> None:
    """A group's label is its first question's words: give it another asker's words, or drop it if none is left."""
    mine = select(UnansweredQuestion.group_id).where(UnansweredQuestion.customer_id.in_(ids))
    groups = list((await session.execute(select(UnansweredGroup).where(UnansweredGroup.id.in_(mine)))).scalars())
    for group in groups:
        other = await session.execute(
            select(UnansweredQuestion.text)
            .where(UnansweredQuestion.group_id == group.id, UnansweredQuestion.customer_id.not_in(ids))
            .order_by(UnansweredQuestion.id)
            .limit(1)
        )
        text = other.scalar_one_or_none()
        if text is None:
            await session.delete(group)
        else:
            group.label = text[:500]


async def scrub_file(session: AsyncSession) -> bool:
    """SQLite: move the zeroed pages from the WAL into the file and empty the WAL; True when it completed."""
    if dialect_of(session) != "sqlite":
        return True
    connection = await session.connection()
    busy = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
    await connection.exec_driver_sql("PRAGMA secure_delete=OFF")
    done = busy is not None and int(busy[0]) == 0
    if not done:
        log.warning("erasure: WAL checkpoint was busy; erased text may stay in the -wal file until the next one")
    return done
