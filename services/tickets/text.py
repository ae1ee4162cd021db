"""How tickets read to reps and managers (Simplified Chinese): T<id> labels, names of sources, statuses, priorities."""

from __future__ import annotations

import re
from typing import Final

from services.service.alerts import Alert, quote_customer_text
from storage.models.customers import Customer
from storage.models.tickets import Ticket

SOURCE_TEXT: Final = {
    "handoff": "转人工",
    "low_score": "低分评价",
    "complaint": "投诉",
    "overdue": "超时未回复",
    "manual": "手动",
}
STATUS_TEXT: Final = {"open": "处理中", "pending": "挂起", "solved": "已解决", "closed": "已关闭"}
PRIORITY_TEXT: Final = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
PRIORITIES: Final = tuple(PRIORITY_TEXT)
_REF: Final = re.compile(r"^\s*[Tt]?\s*(\d{1,12})\s*$")


def label(ticket_id: int) -> str:
    return f"T{ticket_id}"


def parse_ref(text: str) -> int | None:
    """ "T123", "t123", "T 123" or "123" → 123."""
    match = _REF.match(text)
    return int(match.group(1)) if match else None


def _name(customer: Customer) -> str:
    return quote_customer_text(customer.name, 40).strip("「」") or f"客户{customer.id}"


def _subject_line(subject: str) -> str:
    return f"内容：{quote_customer_text(subject, 200)}" if subject.strip() else ""


def opened_alert(ticket: Ticket, customer: Customer) -> Alert:
    """What the assignee (or, unassigned, the managers) reads about a new ticket."""
    ref = label(ticket.id)
    body = "\n".join(
        line
        for line in (
            f"来源：{SOURCE_TEXT.get(ticket.source, ticket.source)} · 优先级：{PRIORITY_TEXT[ticket.priority]}"
            f" · 客户：{_name(customer)}",
            _subject_line(ticket.subject),
            f"回复「认领 {ref}」认领，「解决 {ref}」标记解决，「挂起 {ref}」挂起。",
        )
        if line
    )
    title = f"新工单 {ref}" + ("（待分配）" if not ticket.assignee_userid else "")
    return Alert(title=title, body=body)


def reopened_alert(ticket: Ticket, customer: Customer, source: str, subject: str) -> Alert:
    """What the assignee (or the managers) reads when `source` brings a solved ticket back."""
    why = SOURCE_TEXT.get(source, "")
    return Alert(
        title=f"工单 {label(ticket.id)} 已重新打开",
        body=f"原因：{why} · 客户：{_name(customer)} · 第 {ticket.reopened} 次重开\n{_subject_line(subject)}",
    )
