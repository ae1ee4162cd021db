"""What a rep or manager reads about a waiting customer (Simplified Chinese): who, where, what, how long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.service.alerts import Alert
from services.service.calendar import BusinessCalendar
from storage.models.customers import Customer, Member
from storage.models.groups import Group
from storage.models.service import ChatWait

CHANNEL_WHERE = {"kf": "微信客服", "oa": "公众号"}


@dataclass(frozen=True, slots=True)
class WaitContext:
    customer: str
    where: str
    owner: str


async def wait_context(session: AsyncSession, wait: ChatWait) -> WaitContext:
    """Names for the alert: the customer, the chat (group name, 1:1 with whom, kf, OA) and the owner rep."""
    customer = (await session.execute(select(Customer.name).where(Customer.id == wait.customer_id))).scalar()
    single_member = wait.chat_id.split(":")[1] if wait.chat_type == "single" and wait.chat_id.count(":") >= 2 else ""
    names = await member_names(session, [u for u in (wait.owner_userid, single_member) if u])
    if wait.chat_type == "group":
        group = (await session.execute(select(Group.name).where(Group.chat_id == wait.chat_id))).scalar()
        where = f"群「{group or wait.chat_id}」"
    elif wait.chat_type == "single":
        where = f"与 {names.get(single_member, single_member)} 的单聊"
    else:
        where = CHANNEL_WHERE.get(wait.chat_type, wait.channel)
    owner = names.get(wait.owner_userid or "", wait.owner_userid or "") or "未指定（值班同事）"
    return WaitContext(customer=customer or "客户", where=where, owner=owner)


async def member_names(session: AsyncSession, userids: list[str]) -> dict[str, str]:
    """Display names of members, for alerts a person reads; a member not synced yet keeps the userid."""
    if not userids:
        return {}
    rows = await session.execute(select(Member.userid, Member.name).where(Member.userid.in_(userids)))
    return {userid: name or userid for userid, name in rows}


def format_duration(seconds: float) -> str:
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "不到 1 分钟"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} 天" if days else "", f"{hours} 小时" if hours else "", f"{mins} 分钟" if mins else ""]
    return " ".join(p for p in parts if p)


def _local(moment: datetime, calendar: BusinessCalendar) -> str:
    local = moment.astimezone(calendar.zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _waited(wait: ChatWait, now: datetime, calendar: BusinessCalendar) -> str:
    wall = (now - wait.waiting_since).total_seconds()
    business = calendar.business_seconds_between(wait.waiting_since, now)
    return f"已等待：{format_duration(wall)}（工作时间 {format_duration(business)}）"


def warning(wait: ChatWait, context: WaitContext, now: datetime, calendar: BusinessCalendar) -> Alert:
    """To the owner rep, before the first-response deadline."""
    body = "\n".join(
        (
            f"客户：{context.customer}",
            f"位置：{context.where}",
            _waited(wait, now, calendar),
            f"请在 {_local(wait.due_at, calendar)} 前回复（工作时间计时）。",
        )
    )
    return Alert(title="客户在等你回复", body=body, customer_text=wait.question)


def escalation(wait: ChatWait, context: WaitContext, level: int, now: datetime, calendar: BusinessCalendar) -> Alert:
    """To escalation level `level` (1 = the managers), at and after the deadline."""
    title = "客户等待已超时" if level == 1 else f"客户等待已超时（第 {level} 级升级）"
    body = "\n".join(
        (
            f"客户：{context.customer}",
            f"位置：{context.where}",
            f"负责人：{context.owner}",
            _waited(wait, now, calendar),
            f"回复时限 {_local(wait.due_at, calendar)} 已过，请跟进。",
        )
    )
    return Alert(title=title, body=body, customer_text=wait.question)
