"""Customer lifecycle use cases: a customer adds or loses a member, a transfer fails, a group changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.contacts import apply_contact, end_follow, fetch_unknown_members
from services.customers.directory import ContactDirectory, ExternalContactInfo
from services.customers.groups import MembershipChange, apply_group, external_ids_to_resolve
from services.customers.timeline import EntryKind
from storage.models.customers import Customer, FollowStatus
from storage.repos import advisory, contacts, inbound, timeline

# WeCom may answer groupchat/get before the change is visible ("例如2秒", WECOM.md §2b); look again after this.
RESYNC_DELAY: Final = timedelta(seconds=3)
RESYNC_KIND: Final = "group_resync"
INTERNAL_SOURCE: Final = "qunke"


async def refresh_customer(
    session: AsyncSession, directory: ContactDirectory, external_userid: str, now: datetime
) -> ExternalContactInfo | None:
    info, _ = await _refresh(session, directory, external_userid, now)
    return info


async def _refresh(
    session: AsyncSession, directory: ContactDirectory, external_userid: str, now: datetime, *also: str
) -> tuple[ExternalContactInfo | None, Customer]:
    """Re-read and store the customer; `also` names members to store too (one read of the known members)."""
    info = await directory.get_external_contact(external_userid)
    await fetch_unknown_members(session, directory, [*also, *(f.userid for f in info.follows)] if info else also, now)
    return info, await apply_contact(session, external_userid, info, now)


async def record_customer_added(
    session: AsyncSession,
    directory: ContactDirectory,
    *,
    member_userid: str,
    external_userid: str,
    state: str,
    occurred_at: datetime,
    source_key: str,
    now: datetime,
) -> None:
    _, customer = await _refresh(session, directory, external_userid, now, member_userid)
    await timeline.add_event_once(
        session,
        customer_id=customer.id,
        kind=EntryKind.ADDED_MEMBER,
        occurred_at=occurred_at,
        source_key=source_key,
        member_userid=member_userid,
        detail={"state": state} if state else {},
    )


async def record_follow_ended(
    session: AsyncSession,
    directory: ContactDirectory,
    *,
    member_userid: str,
    external_userid: str,
    by_customer: bool,
    by_transfer: bool,
    occurred_at: datetime,
    source_key: str,
    now: datetime,
) -> None:
    info = await directory.get_external_contact(external_userid)
    await fetch_unknown_members(session, directory, [member_userid], now)
    existing = await contacts.customer_by_external_id(session, external_userid)
    status = FollowStatus.DELETED_BY_CUSTOMER if by_customer else FollowStatus.DELETED_BY_MEMBER
    # Say who ended it before the snapshot would mark the relationship merely "ended" (unless it is back already).
    if existing is not None and not any(f.userid == member_userid for f in (info.follows if info else ())):
        await end_follow(session, existing, member_userid, status, occurred_at)
    customer = await apply_contact(session, external_userid, info, now)
    await timeline.add_event_once(
        session,
        customer_id=customer.id,
        kind=EntryKind.CUSTOMER_DELETED_MEMBER if by_customer else EntryKind.MEMBER_DELETED_CUSTOMER,
        occurred_at=occurred_at,
        source_key=source_key,
        member_userid=member_userid,
        detail={"by_transfer": True} if by_transfer else {},
    )


async def record_transfer_failed(
    session: AsyncSession,
    directory: ContactDirectory,
    *,
    member_userid: str,
    external_userid: str,
    reason: str,
    occurred_at: datetime,
    source_key: str,
    now: datetime,
) -> None:
    info, customer = await _refresh(session, directory, external_userid, now, member_userid)
    await timeline.add_event_once(
        session,
        customer_id=customer.id,
        kind=EntryKind.TRANSFER_FAILED,
        occurred_at=occurred_at,
        source_key=source_key,
        member_userid=member_userid,
        detail={"reason": reason, "still_followed": bool(info and info.follows)},
    )


async def sync_group(
    session: AsyncSession,
    directory: ContactDirectory,
    chat_id: str,
    now: datetime,
    change: MembershipChange | None = None,
    expected_version: str = "",
) -> None:
    """Re-read a group and store it; schedule one more look if WeCom's snapshot lags the callback. The read and the
    write hold the group's advisory lock (PostgreSQL), so two processes handling changes of one group take turns
    and the later read is the one stored last."""
    await advisory.lock_for_transaction(session, advisory.GROUP_SNAPSHOT, chat_id)
    info = await directory.get_group_chat(chat_id)
    wanted = external_ids_to_resolve(info, change)
    known = await contacts.customers_by_external_ids(session, wanted)
    # A placeholder (a message stored the sender before any directory read) is read like a customer never seen.
    unknown = sorted(i for i in wanted if i not in known or known[i].synced_at is None)
    profiles = {external_userid: await directory.get_external_contact(external_userid) for external_userid in unknown}
    userids = {info.owner_userid} if info else set()
    userids |= {f.userid for p in profiles.values() if p for f in p.follows}
    await fetch_unknown_members(session, directory, userids, now)
    await apply_group(session, chat_id, info, profiles, change, now, known)
    if info is not None and expected_version and info.member_version != expected_version and change is not None:
        await queue_group_resyncs(session, [chat_id], f"resync:{change.source_key}", now, now + RESYNC_DELAY)


async def queue_group_resyncs(
    session: AsyncSession, chat_ids: list[str], reason: str, now: datetime, not_before: datetime | None = None
) -> None:
    """Queue re-reads of groups through the inbox; `reason` makes each one's dedupe key unique."""
    rows = [
        inbound.NewInbound(
            dedupe_key=f"{reason}:{chat_id}"[:160],
            source=INTERNAL_SOURCE,
            kind=RESYNC_KIND,
            payload=json.dumps({"chat_id": chat_id}),
            received_at=now,
        )
        for chat_id in chat_ids
    ]
    await inbound.insert_many_if_new(session, rows, not_before=not_before)
