"""What reps hear from the FAQ: a suggested reply, a hand-off with the conversation so far, a task to confirm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.types import Candidate
from services.service.alerts import Alert, alert_member, quote_customer_text
from storage.models.customers import Customer
from storage.models.groups import Group
from storage.models.messages import Message, SenderKind
from storage.repos import messages

CONVERSATION_LINES: Final = 10
LINE_CHARS: Final = 60
CHAT_NAMES: Final = {"kf": "微信客服", "oa": "公众号", "single": "单聊"}
SPEAKERS: Final[dict[str, str]] = {SenderKind.CUSTOMER: "客户", SenderKind.MEMBER: "员工", SenderKind.BOT: "机器人"}


async def where_asked(session: AsyncSession, chat_type: str, chat_id: str) -> str:
    if chat_type == "group":
        group = await session.get(Group, chat_id)
        return f"群「{group.name}」" if group is not None and group.name else "客户群"
    return CHAT_NAMES.get(chat_type, chat_type)


async def customer_name(session: AsyncSession, customer_id: int | None) -> str:
    customer = await session.get(Customer, customer_id) if customer_id is not None else None
    return customer.name if customer is not None and customer.name else "客户"


async def suggest_reply(
    session: AsyncSession,
    now: datetime,
    userid: str,
    *,
    where: str,
    who: str,
    question: str,
    answer: str,
    best: Candidate,
    key: str,
) -> int:
    """A private suggested reply: the question, the answer to paste, how sure the bot is, and which entry."""
    body = (
        f"{where}里{who}的问题，可以这样回复：\n{answer}\n匹配度：{best.confidence:.0%}（知识库条目 {best.entry_id}）"
    )
    queued = await alert_member(
        session, now, userid, Alert(title="FAQ 建议回复", body=body, customer_text=question), key=key
    )
    return queued.outbox_id


async def task_to_confirm(
    session: AsyncSession, now: datetime, userid: str, where: str, question: str, key: str
) -> int:
    body = f"{where}里有客户提问，已为您创建一条群发任务（知识库答案），请在企业微信「群发助手」中确认发送。"
    queued = await alert_member(
        session, now, userid, Alert(title="FAQ 群发待确认", body=body, customer_text=question), key=key
    )
    return queued.outbox_id


class HandoffOutcome(StrEnum):
    TAKEN = "taken"  # the rep holds the session (state 3)
    POOL_FALLBACK = "pool_fallback"  # the rep is not a receiving servicer (95014): the session waits in the pool
    UNATTENDED = "unattended"  # no owner and nobody on duty: queued in the pool, the managers are told


HANDOFF_HEADLINES: Final[dict[HandoffOutcome, str]] = {
    HandoffOutcome.TAKEN: "微信客服：{who}已转给您接待（{why}），请尽快回复。",
    HandoffOutcome.POOL_FALLBACK: (
        "微信客服：{who}请求人工服务（{why}），但您不是该客服账号的接待人员或已停止接待，会话未能转给您，"
        "已进入待接入池。请在企业微信「微信客服」中把状态设为「接待中」，再从「待接入」列表接入该客户；"
        "如您还不是该客服账号的接待人员，请管理员在管理后台「微信客服」中添加。"
    ),
    HandoffOutcome.UNATTENDED: (
        "微信客服：{who}请求人工服务（{why}），但该客户没有负责人，也没有值班客服（service.on_duty），"
        "会话已进入待接入池，客户已被告知会在工作时间内得到回复。请安排接待人员在企业微信「微信客服」的"
        "「待接入」列表中接入该客户，或配置值班客服。"
    ),
}


@dataclass(frozen=True, slots=True)
class HandoffAlert:
    """Who hears about a kf hand-off and why; it rides on the trans outbox row (ids only, no personal data) and is
    sent once WeCom's answer says where the session went."""

    to: tuple[str, ...]
    why: str
    customer_id: int | None
    zone: str
    key: str
    ticket: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "to": list(self.to),
            "why": self.why,
            "customer_id": self.customer_id,
            "zone": self.zone,
            "key": self.key,
            "ticket": self.ticket,
        }

    @staticmethod
    def from_payload(payload: Mapping[str, Any]) -> HandoffAlert:
        customer_id = payload.get("customer_id")
        return HandoffAlert(
            to=tuple(str(u) for u in payload.get("to") or ()),
            why=str(payload.get("why", "")),
            customer_id=int(customer_id) if customer_id is not None else None,
            zone=str(payload.get("zone") or "Asia/Shanghai"),
            key=str(payload.get("key", "")),
            ticket=str(payload.get("ticket", "")),
        )


async def handoff_alert(
    session: AsyncSession, now: datetime, alert: HandoffAlert, outcome: HandoffOutcome
) -> list[int]:
    """Tell each recipient where the kf session went and why, with the last lines of the customer's timeline."""
    title = "客户转人工" if outcome is HandoffOutcome.TAKEN else "客户转人工（待接入）"
    return await send_handoff_alert(session, now, alert, HANDOFF_HEADLINES[outcome], title)


async def send_handoff_alert(
    session: AsyncSession, now: datetime, alert: HandoffAlert, headline: str, title: str
) -> list[int]:
    """The hand-off alert of any channel: `headline` (with {who}, {why} and, for the OA, {how}), the ticket, the
    last lines of the customer's timeline; one app message per recipient."""
    if not alert.to:
        return []
    who = await customer_name(session, alert.customer_id)
    recent = await messages.of_customers(session, [alert.customer_id], CONVERSATION_LINES) if alert.customer_id else []
    lines = conversation_lines(recent, alert.zone)
    body = headline.format(who=who, why=alert.why, how=oa_reply_how(alert.ticket))
    if alert.ticket:
        body += f"\n已建工单 {alert.ticket}，处理完请回复「解决 {alert.ticket}」。"
    if lines:
        body += "\n最近的对话：\n" + "\n".join(lines)
    queued = []
    for userid in alert.to:
        key = f"{alert.key}:{userid}" if len(alert.to) > 1 else alert.key
        queued.append((await alert_member(session, now, userid, Alert(title=title, body=body), key=key)).outbox_id)
    return queued


def oa_reply_how(ticket: str) -> str:
    """How a rep answers an OA follower: through Qunke with the ticket's "回复" command, else the OA platform."""
    if ticket:
        return (
            f"直接在这里发「回复 {ticket} 您要说的话」，机器人会通过公众号代发；也可在微信公众平台「客服消息」中回复。"
        )
    return "请在微信公众平台「客服消息」中回复。"


def conversation_lines(recent: Sequence[Message], zone: str) -> list[str]:
    """One line per message, oldest first: time, who, and the text made safe (flattened, capped)."""
    tz = ZoneInfo(zone)
    lines = []
    for m in recent[-CONVERSATION_LINES:]:
        said = quote_customer_text(m.text or f"[{m.msgtype}]", LINE_CHARS)
        lines.append(f"{m.sent_at.astimezone(tz):%m-%d %H:%M} {SPEAKERS.get(m.sender_kind, '其他')}：{said}")
    return lines
