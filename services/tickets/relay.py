"""A rep's reply to an OA follower from the app: "回复 T12 …" goes out as the OA's customer-service message.

The OA has no API that hands a follower to a person, so after a hand-off the rep had to leave WeCom for the OA
platform, and the reply was never seen here (no pull returns it). Relayed, it leaves from the bot's OA account with
the rep's words, is recorded on the customer's timeline as the rep's (bot/delivery/sent_replies.py), answers the
chat's open waits, and takes the ticket if nobody had it. kf, group and 1:1 tickets are answered where they are:
WeCom gives those chats to a person natively, and a bot cannot speak in a customer group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.budget import Budgets, oa_room
from services.outbox.messages import TEXT_MAX_BYTES, Text
from services.outbox.queue import already_queued, queue_app_message, queue_oa_message
from services.service.calendar import BusinessCalendar, WorkingHours
from services.service.waits import answered_in_chat
from services.tickets import changes
from services.tickets.opening import TicketError, TicketPolicy
from services.tickets.text import label
from storage.models.outbox import OutboxKind
from storage.repos import contacts
from storage.repos import tickets as tickets_repo

OA_CHAT_PREFIX: Final = "oa:"
BY_MEMBER: Final = "by_member"  # payload key: the member whose words these are (the timeline records them as theirs)
TICKET: Final = "ticket_id"

ELSEWHERE: Final = {
    "kf": "工单 {ref} 是微信客服会话，请在企业微信「微信客服」里直接回复客户。",
    "group": "工单 {ref} 来自客户群，机器人不能在客户群发言，请在群里直接回复。",
    "single": "工单 {ref} 来自与客户的单聊，请在企业微信里直接回复客户。",
}
NO_CHAT: Final = "工单 {ref} 没有关联的公众号会话，无法代发回复。"
WINDOW_SHUT: Final = (
    "没有发出：公众号只能在粉丝最后一条消息后 48 小时内回复，且最多 {quota} 条，该粉丝的窗口已关闭或已用完。"
    "请等客户再次留言后再回复。"
)
TOO_LONG: Final = "没有发出：回复有 {size} 字节，公众号客服消息最多 {limit} 字节，请分成几条发送。"
SENT: Final = "已通过公众号把你的回复发给{who}（工单 {ref}）。客户再次留言前，还可回复 {left} 条。"


@dataclass(frozen=True, slots=True)
class Relayed:
    """What became of a reply: queued (`sent`) or not, and the Chinese sentence that says so to the rep."""

    sent: bool
    message: str


@dataclass(frozen=True, slots=True)
class RelayRules:
    budgets: Budgets
    calendar: BusinessCalendar
    tickets: TicketPolicy

    @classmethod
    def defaults(cls, zone: str) -> RelayRules:
        """The sender's default OA window and a Monday-Friday 9:00-18:00 calendar (a console built without config)."""
        return cls(Budgets(), BusinessCalendar(zone, WorkingHours()), TicketPolicy())


async def relay_reply(
    session: AsyncSession, now: datetime, userid: str, ticket_id: int, text: str, key: str, rules: RelayRules
) -> Relayed:
    """Queue the rep's reply to the ticket's OA follower, or say in Chinese why it cannot go.

    `key` makes a redelivered command queue nothing twice."""
    ref = label(ticket_id)
    if await already_queued(session, OutboxKind.OA_MESSAGE, f"relay:{key}"):
        return Relayed(False, f"这条回复已经发出（工单 {ref}），没有重复发送。")
    found = await tickets_repo.get(session, ticket_id)
    if found is None:
        return Relayed(False, f"没有找到工单 {ref}")
    if found.channel != "oa":
        return Relayed(False, ELSEWHERE.get(found.channel, NO_CHAT).format(ref=ref))
    if not found.chat_id.startswith(OA_CHAT_PREFIX):
        return Relayed(False, NO_CHAT.format(ref=ref))
    size = len(text.encode())
    if size > TEXT_MAX_BYTES:
        return Relayed(False, TOO_LONG.format(size=size, limit=TEXT_MAX_BYTES))
    openid = found.chat_id.removeprefix(OA_CHAT_PREFIX)
    left = await oa_room(session, rules.budgets, openid, now)
    if left <= 0:
        return Relayed(False, WINDOW_SHUT.format(quota=rules.budgets.oa_message_quota))
    try:
        ticket = await changes.respond(session, now, ticket_id, userid, policy=rules.tickets)
    except TicketError as exc:
        return Relayed(False, exc.message)
    extra: dict[str, Any] = {BY_MEMBER: userid, TICKET: ticket.id}
    await queue_oa_message(session, now, openid, Text(text), key=f"relay:{key}", extra=extra)
    await answered_in_chat(session, ticket.chat_id, userid, now, rules.calendar)
    customer = await contacts.customer_by_id(session, ticket.customer_id)
    who = f"「{customer.name}」" if customer is not None and customer.name else "客户"
    return Relayed(True, SENT.format(who=who, ref=ref, left=left - 1))


def relayed_by(payload: dict[str, Any]) -> str | None:
    """The member whose reply an OA message relays, or None for the bot's own messages."""
    by = payload.get(BY_MEMBER)
    return str(by) if by else None


NOT_SENT: Final = "你对工单 {ref} 的公众号回复没有发出：{why}\n原文：{text}"


async def tell_not_sent(
    session: AsyncSession, now: datetime, payload: dict[str, Any], reason: str, row_id: int, *, unknown: bool = False
) -> None:
    """The sender could not deliver a relayed reply (or cannot tell whether it went): the rep who wrote it hears why,
    in Chinese, once; the bot's own OA messages are not relays and tell nobody."""
    userid = relayed_by(payload)
    if userid is None:
        return
    if unknown:
        why = "发送结果未知（微信没有应答），客户可能已经收到，请勿重复发送。"
    elif reason.startswith(("oa_window_closed", "oa_quota")):
        why = "粉丝最后一条消息已超过 48 小时，或窗口内的条数已用完；请等客户再次留言后再回复。"
    else:
        why = f"微信拒绝了这条消息（{reason[:120]}）。"
    ref = label(int(payload.get(TICKET, 0)))
    body = NOT_SENT.format(ref=ref, why=why, text=str(payload.get("content", ""))[:200])
    await queue_app_message(session, now, [userid], Text(body), key=f"relay-not-sent:{row_id}")
