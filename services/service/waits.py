"""Waiting customers: a question opens a wait with a business-hours deadline; a member's or the FAQ's reply ends it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.service.calendar import BusinessCalendar
from services.service.policy import ServiceRules
from services.text.intent import needs_answer
from storage.models.customers import Customer
from storage.models.groups import Group, GroupMember
from storage.models.messages import KfSession, Message
from storage.models.service import ChatWait
from storage.repos import waits as waits_repo
from storage.repos.waits import Answer, NewWait

ANSWERED_BY_BOT: Final = "bot"
QUESTION_MAX_CHARS: Final = 1000
# What closes a wait: a person on the company's side. Robots (group bots) and system lines do not count.
CUSTOMER: Final = "customer"
MEMBER: Final = "member"


class WaitFacts(Protocol):
    """What opening a wait reads besides the message; a page of messages answers these from one query each."""

    async def tag_names(self, customer_id: int) -> set[str]: ...

    async def owner(self, chat_type: str, chat_id: str, customer_id: int) -> str | None: ...

    async def may_have_open_waits(self, chat_id: str) -> bool: ...


class WaitBatch:
    """The waits a page of messages opens, written in one statement when the page is flushed.

    Only `close_by_member` reads open waits while a page is handled, and it flushes first when its chat has some
    here, so every message sees the waits it would have seen one message at a time.
    """

    def __init__(self) -> None:
        self._waits: dict[tuple[str, int], NewWait] = {}
        self.touched: set[str] = set()  # every chat a wait was added for, flushed or not

    def add(self, wait: NewWait) -> None:
        self.touched.add(wait.chat_id)
        # A later question from a customer already waiting here opens nothing: the first keeps its time.
        self._waits.setdefault((wait.chat_id, wait.customer_id), wait)

    def pending_in(self, chat_id: str) -> bool:
        return any(chat == chat_id for chat, _ in self._waits)

    async def flush(self, session: AsyncSession) -> None:
        if self._waits:
            await waits_repo.open_many(session, list(self._waits.values()))
            self._waits.clear()


async def note_message(
    session: AsyncSession,
    message: Message,
    rules: ServiceRules,
    facts: WaitFacts | None = None,
    batch: WaitBatch | None = None,
) -> None:
    """React to one stored message: a customer's question opens a wait, a member's message answers waits. With a
    batch, a new wait is written when the batch is flushed."""
    if message.sender_kind == CUSTOMER:
        await open_wait(session, message, rules, facts, batch)
    elif message.sender_kind == MEMBER:
        if batch is not None and batch.pending_in(message.chat_id):
            await batch.flush(session)  # the waits this member answers may be among the page's new ones
        if facts is not None and not await facts.may_have_open_waits(message.chat_id):
            return  # a rep chatting where nobody waits: one query for the page tells
        await close_by_member(session, message, rules.calendar)


async def open_wait(
    session: AsyncSession,
    message: Message,
    rules: ServiceRules,
    facts: WaitFacts | None = None,
    batch: WaitBatch | None = None,
) -> int | None:
    """Open a wait for a question or request; None when it needs no answer or the customer already waits here
    (or when it went into `batch`, which writes it later)."""
    if message.customer_id is None or message.recalled_at is not None or not needs_answer(message.text):
        return None
    facts = facts or _QueryEach(session)
    policy = rules.policy_for(await facts.tag_names(message.customer_id))
    asked = message.sent_at
    wait = NewWait(
        channel=message.channel,
        chat_type=message.chat_type,
        chat_id=message.chat_id,
        customer_id=message.customer_id,
        owner_userid=await facts.owner(message.chat_type, message.chat_id, message.customer_id),
        first_message_id=message.id,
        question=message.text[:QUESTION_MAX_CHARS],
        policy=policy.name,
        waiting_since=asked,
        due_at=rules.calendar.add_business_time(asked, policy.first_response_s),
        next_check_at=rules.calendar.add_business_time(asked, policy.warn_after_s),
    )
    if batch is not None:
        batch.add(wait)
        return None
    return await waits_repo.open_once(session, wait)


class _QueryEach:
    """The facts for one message alone, one query each."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def tag_names(self, customer_id: int) -> set[str]:
        return await waits_repo.tag_names(self._session, customer_id)

    async def owner(self, chat_type: str, chat_id: str, customer_id: int) -> str | None:
        return await owner_for(self._session, chat_type, chat_id, customer_id)

    async def may_have_open_waits(self, chat_id: str) -> bool:
        return True  # close_by_member's own query tells


async def close_by_member(session: AsyncSession, message: Message, calendar: BusinessCalendar) -> list[int]:
    """A member spoke in a chat: the customers waiting there (asked before this message) are answered.

    kf: the account's chat is shared by its customers, so only this customer's wait closes. Group: every waiting
    customer, unless the member @-mentions some of them by name; then only those. 1:1 and OA: the chat's wait.
    """
    by = message.member_userid or message.sender_id
    at = message.sent_at
    if message.chat_type == "kf":
        if message.customer_id is None:
            return []
        waits = await waits_repo.waiting_in_chat(session, message.chat_id, at, message.customer_id)
    else:
        waits = await waits_repo.waiting_in_chat(session, message.chat_id, at)
        if message.chat_type == "group" and "@" in message.text:
            waits = await _addressed(session, waits, message.chat_id, message.text)
    return await _answer(session, waits, by, at, calendar)


async def answered_in_chat(
    session: AsyncSession, chat_id: str, by: str, at: datetime, calendar: BusinessCalendar
) -> list[int]:
    """`by` answered a one-customer chat (an OA follower's) through the bot: its waits asked by `at` are answered."""
    return await _answer(session, await waits_repo.waiting_in_chat(session, chat_id, at), by, at, calendar)


async def _answer(
    session: AsyncSession, waits: Sequence[ChatWait], by: str, at: datetime, calendar: BusinessCalendar
) -> list[int]:
    closed = []
    for wait in waits:
        if await waits_repo.close(session, wait.id, answer_for(wait, by, at, calendar)):
            closed.append(wait.id)
    return closed


async def close_answered_by_bot(session: AsyncSession, calendar: BusinessCalendar, limit: int = 500) -> int:
    """Close the waits the FAQ answered (a `faq_replies` row with decision `answered` on one of the customer's
    questions in that chat since the wait began); answered_by is "bot"."""
    closed = 0
    for wait, at in await waits_repo.answered_by_bot(session, limit):
        at = max(at, wait.waiting_since)
        if await waits_repo.close(session, wait.id, answer_for(wait, ANSWERED_BY_BOT, at, calendar)):
            closed += 1
    return closed


def answer_for(wait: ChatWait, by: str, at: datetime, calendar: BusinessCalendar) -> Answer:
    return Answer(
        by=by,
        at=at,
        wall_s=max(0.0, (at - wait.waiting_since).total_seconds()),
        business_s=calendar.business_seconds_between(wait.waiting_since, at),
        breached=at > wait.due_at,
    )


async def _addressed(session: AsyncSession, waits: Sequence[ChatWait], chat_id: str, text: str) -> list[ChatWait]:
    """The waits of customers the message @-mentions by profile name or group nickname; all of them if none is."""
    if not waits:
        return []
    ids = [w.customer_id for w in waits]
    names: dict[int, set[str]] = {i: set() for i in ids}
    for cid, name in await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))):
        names[cid].add(name)
    rows = await session.execute(
        select(GroupMember.customer_id, GroupMember.name, GroupMember.group_nickname).where(
            GroupMember.chat_id == chat_id, GroupMember.customer_id.in_(ids)
        )
    )
    for member_customer, name, nickname in rows:
        if member_customer is not None:
            names[member_customer].update((name, nickname))
    picked = [w for w in waits if any(n and f"@{n}" in text for n in names[w.customer_id])]
    return picked or list(waits)


async def owner_for(session: AsyncSession, chat_type: str, chat_id: str, customer_id: int) -> str | None:
    """Who should answer: kf → the session's servicer, else the customer's owner rep; group → the group's owner;
    1:1 → the member in it; OA → the customer's owner rep. None: nobody known (service.on_duty is told)."""
    if chat_type == "single":
        parts = chat_id.split(":")
        return parts[1] if len(parts) >= 3 and parts[1] else None
    if chat_type == "group":
        owner = (await session.execute(select(Group.owner_userid).where(Group.chat_id == chat_id))).scalar()
        return owner or None
    if chat_type == "kf":
        servicer = (
            await session.execute(
                select(KfSession.servicer_userid).where(
                    KfSession.open_kfid == chat_id, KfSession.customer_id == customer_id
                )
            )
        ).scalar()
        if servicer:
            return str(servicer)
    owner = (await session.execute(select(Customer.owner_userid).where(Customer.id == customer_id))).scalar()
    return owner or None
