"""What reps hear from the FAQ: a suggested reply, a hand-off with the conversation so far, a task to confirm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import Alert, alert_member, quote_customer_text
from services.faq.types import Candidate
from storage.models import Customer, Group, Message, SenderKind
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


async def handoff_alert(
    session: AsyncSession,
    now: datetime,
    userid: str,
    *,
    who: str,
    why: str,
    customer_id: int | None,
    zone: str,
    key: str,
    ticket: str = "",
) -> int:
    """Tell the rep who now holds the kf session why, with the last lines of the customer's timeline."""
    recent = await messages.of_customers(session, [customer_id], CONVERSATION_LINES) if customer_id else []
    lines = conversation_lines(recent, zone)
    body = f"微信客服：{who}已转给您接待（{why}），请尽快回复。"
    if ticket:
        body += f"\n已建工单 {ticket}，处理完请回复「解决 {ticket}」。"
    if lines:
        body += "\n最近的对话：\n" + "\n".join(lines)
    queued = await alert_member(session, now, userid, Alert(title="客户转人工", body=body), key=key)
    return queued.outbox_id


def conversation_lines(recent: Sequence[Message], zone: str) -> list[str]:
    """One line per message, oldest first: time, who, and the text made safe (flattened, capped)."""
    tz = ZoneInfo(zone)
    lines = []
    for m in recent[-CONVERSATION_LINES:]:
        said = quote_customer_text(m.text or f"[{m.msgtype}]", LINE_CHARS)
        lines.append(f"{m.sent_at.astimezone(tz):%m-%d %H:%M} {SPEAKERS.get(m.sender_kind, '其他')}：{said}")
    return lines
