"""Record what people said, from any channel, on the chat and on the customer's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers import identity, lifecycle
from storage.kf_state import KfState
from storage.models.customers import Customer
from storage.models.messages import KfSession
from storage.repos import contacts, groups, messages, windows
from storage.repos import identity as identity_repo
from storage.repos.messages import NewMessage


@dataclass(frozen=True, slots=True)
class PersonRef:
    """Who the customer in a chat is, as the channel says it: an external_userid or an OA openid, maybe a unionid."""

    external_userid: str = ""
    openid: str = ""
    unionid: str = ""
    name: str = ""

    @classmethod
    def of(cls, person: PersonLike) -> PersonRef:
        """The same customer as an event names them (bot.events.Person has these four fields)."""
        return cls(person.external_userid, person.openid, person.unionid, person.name)


class PersonLike(Protocol):
    """A customer as a channel names them; services cannot import bot.events, so they take its shape."""

    @property
    def external_userid(self) -> str: ...
    @property
    def openid(self) -> str: ...
    @property
    def unionid(self) -> str: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Said:
    """One message, platform-free, ready to store; `person` is the customer the chat is with, if any."""

    channel: str
    chat_type: str
    chat_id: str
    msgid: str
    sender_kind: str
    sender_id: str
    person: PersonRef | None
    member_userid: str | None
    msgtype: str
    text: str
    sent_at: datetime
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def source_key(self) -> str:
        return message_key(self.channel, self.msgid)


def message_key(channel: str, msgid: str) -> str:
    return f"{channel}:{msgid}"


async def record_many(session: AsyncSession, said: Sequence[Said], now: datetime) -> set[str]:
    """Store a page of messages once each (a replayed pull stores nothing); returns the source keys that were new.

    Customers are resolved in bulk (one query for every external_userid on the page), which is what lets the
    archive puller store thousands of messages a second.
    """
    if not said:
        return set()
    people = await _resolve(session, [s.person for s in said if s.person is not None], now)
    rows = [
        NewMessage(
            source_key=s.source_key,
            channel=s.channel,
            chat_type=s.chat_type,
            chat_id=s.chat_id,
            sender_kind=s.sender_kind,
            sender_id=s.sender_id,
            customer_id=people[_person_key(s.person)].id if s.person is not None else None,
            member_userid=s.member_userid,
            msgtype=s.msgtype,
            text=s.text,
            sent_at=s.sent_at,
            body=s.body,
        )
        for s in said
    ]
    new = await messages.add_many_once(session, rows)
    await _learn_unknown_groups(session, {s.chat_id for s in said if s.chat_type == "group"}, now)
    # Rows of kf sessions and windows are locked in one order, (account, customer, then time): a page of many
    # customers upserted in arrival order deadlocked with the sender and other pages under load.
    for s in sorted(said, key=_lock_order):
        if s.source_key in new and s.chat_type == "oa" and s.person is not None and s.person.openid:
            await windows.note_oa_user_message(session, s.person.openid, s.sent_at)
        if s.source_key in new and s.chat_type == "kf" and s.sender_kind == "customer" and s.person is not None:
            customer = people[_person_key(s.person)]
            await note_kf_customer_message(session, s.chat_id, s.person.external_userid, customer.id, s.sent_at)
    return new


async def _learn_unknown_groups(session: AsyncSession, chat_ids: set[str], now: datetime) -> None:
    """A message from a group Qunke has not read yet queues a read of it, so the group gets its name and members."""
    if not chat_ids:
        return
    unknown = sorted(chat_ids - await groups.known_ids(session, chat_ids))
    if unknown:
        await lifecycle.queue_group_resyncs(session, unknown, "unknown-group", now)


def _lock_order(said: Said) -> tuple[str, str, str, datetime]:
    """The order a batch's conversation rows are locked in: by chat, person, then time (a stable sort keeps the
    arrival order of one person's messages of the same second)."""
    person = said.person
    key = (person.external_userid or person.openid) if person is not None else ""
    return (said.chat_type, said.chat_id, key, said.sent_at)


def _person_key(person: PersonRef) -> str:
    return f"e:{person.external_userid}" if person.external_userid else f"o:{person.openid}"


async def _resolve(session: AsyncSession, refs: Sequence[PersonRef], now: datetime) -> dict[str, Customer]:
    by_key: dict[str, PersonRef] = {}
    for ref in refs:
        by_key.setdefault(_person_key(ref), ref)
    external = [r.external_userid for r in by_key.values() if r.external_userid]
    known = await contacts.customers_by_external_ids(session, external)
    # New faces with nothing to link (no unionid): created in one statement, the usual case in a busy group.
    bare = [r.external_userid for r in by_key.values() if r.external_userid and r.external_userid not in known]
    bare = [e for e in bare if not by_key[f"e:{e}"].unionid]
    if bare:
        await identity_repo.add_external_ids(session, bare, now)
        known |= await contacts.customers_by_external_ids(session, bare)
    found: dict[str, Customer] = {}
    for key, ref in by_key.items():
        customer = known.get(ref.external_userid) if ref.external_userid else None
        if customer is None or (ref.unionid and not customer.unionid) or (ref.name and not customer.name):
            customer = await customer_for(session, ref, now)
        found[key] = customer
    return found


async def customer_for(session: AsyncSession, ref: PersonRef, now: datetime) -> Customer:
    if ref.external_userid:
        return await identity.customer_for_external(
            session, ref.external_userid, now, name=ref.name, unionid=ref.unionid
        )
    return await identity.customer_for_openid(session, ref.openid, now, unionid=ref.unionid, name=ref.name)


async def recall(session: AsyncSession, channel: str, msgid: str, at: datetime) -> bool:
    """Mark the original message recalled; its text stays for the record, shown as recalled."""
    return await messages.mark_recalled(session, message_key(channel, msgid), at)


async def kf_session(session: AsyncSession, open_kfid: str, external_userid: str, now: datetime) -> KfSession:
    found = await session.get(KfSession, (open_kfid, external_userid))
    if found is None:
        found = KfSession(
            open_kfid=open_kfid,
            external_userid=external_userid,
            state=KfState.ENDED,
            servicer_userid="",
            updated_at=now,
        )
        session.add(found)
    return found


async def note_kf_customer_message(
    session: AsyncSession, open_kfid: str, external_userid: str, customer_id: int, at: datetime
) -> KfSession:
    """A customer message opens the 48 h window and, after an ended session, starts a new one (state 0)."""
    state = await kf_session(session, open_kfid, external_userid, at)
    state.customer_id = customer_id
    if state.last_customer_msg_at is None or at > state.last_customer_msg_at:
        state.last_customer_msg_at = at
    if state.state == KfState.ENDED:
        state.state, state.servicer_userid = KfState.UNTREATED, ""
    state.updated_at = at
    # The sender's view of the same facts: the 48 h window and 5-message allowance it enforces before kf/send_msg.
    await windows.note_kf_customer_message(session, open_kfid, external_userid, at)
    await windows.note_kf_session_state(session, open_kfid, external_userid, state.state, state.servicer_userid, at=at)
    return state


async def note_kf_session_change(
    session: AsyncSession,
    open_kfid: str,
    external_userid: str,
    customer_id: int,
    at: datetime,
    *,
    state: int | None,
    servicer_userid: str,
    code: str = "",
    code_kind: str = "",
) -> KfSession:
    row = await kf_session(session, open_kfid, external_userid, at)
    row.customer_id = customer_id
    if state is not None:
        row.state = state
        row.servicer_userid = servicer_userid
        await windows.note_kf_session_state(session, open_kfid, external_userid, state, servicer_userid, at=at)
    if code:
        row.event_code, row.event_code_kind, row.event_code_at = code, code_kind, at
    row.updated_at = at
    return row


@dataclass(frozen=True, slots=True)
class BotReply:
    """What the bot said to a customer, as sent: the chat, the customer, the payload and the outbox row's key."""

    channel: str
    chat_id: str
    person: PersonRef
    payload: dict[str, Any]
    key: str
    member: str | None = None  # a rep's reply relayed by the bot (services/tickets/relay.py): recorded as theirs


async def record_bot_replies(session: AsyncSession, replies: Sequence[BotReply], at: datetime) -> None:
    """What the bot itself said to customers (kf and OA API sends are not read back by any pull), stored once each as
    a message from "bot" on the customer's timeline, when WeCom accepted it: one lookup of the customers and one
    insert for a whole batch of sends."""
    if not replies:
        return
    people = await _resolve(session, [reply.person for reply in replies], at)
    rows = [_bot_message(reply, people[_person_key(reply.person)].id, at) for reply in replies]
    await messages.add_many_once(session, rows)


def _bot_message(reply: BotReply, customer_id: int, at: datetime) -> NewMessage:
    payload = reply.payload
    items = payload.get("items") or []
    if payload.get("type") == "menu":
        msgtype, text = "msgmenu", " ".join([str(payload.get("head", "")), *(str(i.get("text", "")) for i in items)])
    else:
        msgtype, text = "text", str(payload.get("content", ""))
    return NewMessage(
        source_key=message_key("bot", reply.key),
        channel=reply.channel,
        chat_type=reply.channel,
        chat_id=reply.chat_id,
        sender_kind="member" if reply.member else "bot",
        sender_id=reply.member or "qunke",
        customer_id=customer_id,
        member_userid=reply.member,
        msgtype=msgtype,
        text=text.strip(),
        sent_at=at,
    )
