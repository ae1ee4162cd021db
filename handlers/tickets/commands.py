"""Rep commands to the app: "认领 T123", "解决 T123", "挂起 T123" and "工单"; each answers the rep in Chinese."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.service.alert_text import member_names
from services.surveys import triggers as survey_triggers
from services.surveys.asking import SurveyPolicy, owner_rep
from services.tickets import changes as ticket_changes
from services.tickets import text as ticket_text
from services.tickets import views as ticket_views
from services.tickets.opening import TicketError, TicketPolicy
from services.tickets.text import STATUS_TEXT, label
from services.tickets.views import TicketFilter
from storage.models.surveys import Survey
from storage.models.tickets import Ticket
from storage.repos import contacts

VERBS: Final = ("认领", "解决", "挂起", "回复")
REPLY: Final = "回复"
_COMMAND: Final = re.compile(r"^\s*(认领|解决|挂起|工单|回复)\s*(.*?)\s*$", re.DOTALL)
# "回复 T12 您好…", "回复T12：您好", "回复 12 您好": the ticket, then the rep's words as written (newlines kept).
_REPLY: Final = re.compile(r"^[Tt]?\s*(\d+)\s*[:：,，]?\s*(.*)$", re.DOTALL)
LIST_LIMIT: Final = 20
USAGE: Final = (
    "工单指令：「认领 T123」认领，「解决 T123」标记解决，「挂起 T123」挂起，「工单」查看你负责的工单，"
    "「回复 T123 内容」通过公众号回复该工单的客户。"
)
REPLY_USAGE: Final = "请这样回复公众号客户：「回复 T123 您好，……」（工单号后面是要发给客户的内容）。"


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    ticket_id: int | None
    raw: str
    body: str = ""  # 回复: what to send the customer


def parse_command(text: str) -> Command | None:
    """A rep command, or None when the text is something else ("认领T123", "认领 123" and "解决 t12" all count)."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    verb, rest = match.group(1), match.group(2)
    if verb == REPLY:
        reply = _REPLY.match(rest)
        if reply is None:
            return Command(verb, None, rest)
        return Command(verb, int(reply.group(1)), rest, reply.group(2).strip())
    if verb == "工单":
        return Command(verb, None, rest) if not rest else None
    return Command(verb, ticket_text.parse_ref(rest) if rest else None, rest)


def is_command(text: str) -> bool:
    return parse_command(text) is not None


async def run_command(
    session: AsyncSession,
    now: datetime,
    userid: str,
    command: Command,
    ticket_policy: TicketPolicy,
    survey_policy: SurveyPolicy,
) -> str:
    """Carry the command out and say what happened (or why not), in Chinese, for the rep."""
    if command.verb == "工单":
        return await _list(session, now, userid)
    if command.ticket_id is None:
        return f"没看懂工单号「{command.raw}」。{USAGE}" if command.raw else USAGE
    ref = label(command.ticket_id)
    try:
        if command.verb == "认领":
            ticket = await ticket_changes.claim(session, now, command.ticket_id, userid, policy=ticket_policy)
            return f"已认领工单 {ref}：{_short(ticket.subject)}\n处理完成后回复「解决 {ref}」。"
        if command.verb == "挂起":
            await ticket_changes.set_pending(session, now, command.ticket_id, userid, policy=ticket_policy)
            return f"工单 {ref} 已挂起（等待客户或第三方）。处理完成后回复「解决 {ref}」。"
        ticket, survey = await survey_triggers.solve_and_ask(
            session, now, command.ticket_id, userid, ticket_policy=ticket_policy, survey_policy=survey_policy
        )
    except TicketError as exc:
        return exc.message
    return await _solved_text(session, ticket, survey, userid)


async def _solved_text(session: AsyncSession, ticket: Ticket, survey: Survey | None, userid: str) -> str:
    """Say what really happened to the survey; "" when the rep's note to ask (sent to this rep) says it all."""
    ref = label(ticket.id)
    if survey is None:
        if ticket.channel == "kf":
            return f"工单 {ref} 已标记为已解决。微信客服会话结束时，机器人会向客户发送满意度评价。"
        return f"工单 {ref} 已标记为已解决。"
    if survey.channel == "kf":
        return f"工单 {ref} 已标记为已解决，机器人已在微信客服会话中向客户发送满意度评价。"
    if survey.channel == "oa":
        return f"工单 {ref} 已标记为已解决，机器人已在公众号中向客户发送满意度评价。"
    customer = await contacts.customer_by_id(session, ticket.customer_id)
    rep = ticket.assignee_userid or (await owner_rep(session, customer) if customer is not None else None)
    if rep == userid:
        return ""  # the note "请邀请客户评分" names the ticket and is this rep's one message
    name = (await member_names(session, [rep])).get(rep, rep) if rep else "负责人"
    return f"工单 {ref} 已标记为已解决，已提醒 {name} 邀请客户评分。"


async def _list(session: AsyncSession, now: datetime, userid: str) -> str:
    mine = await ticket_views.list_tickets(
        session, TicketFilter(status=("open", "pending"), assignee=userid, limit=LIST_LIMIT), now
    )
    if not mine:
        return "你目前没有处理中的工单。"
    lines = [f"你负责的工单（{len(mine)}{'+' if len(mine) == LIST_LIMIT else ''}）："]
    for view in mine:
        late = " · 已超时" if view.overdue else ""
        who = view.customer_name or f"客户{view.customer_id}"
        lines.append(f"{view.ref} {STATUS_TEXT[view.status]}{late} · {who}：{_short(view.subject)}")
    return "\n".join(lines)


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
