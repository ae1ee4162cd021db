"""A wait still unanswered at its resolution deadline becomes an "overdue" ticket (the SLA tick's hook)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.service.sla import OverdueHook
from services.tickets.opening import TicketPolicy, TicketRequest, open_ticket
from storage.models.service import ChatWait
from storage.models.tickets import TicketSource

SUBJECT_CHARS = 60


def overdue_ticket_hook(policy: TicketPolicy) -> OverdueHook:
    """The hook runs in the tick's transaction, once per wait (the tick claims it first), so a replayed tick opens
    nothing twice; the source key keeps it that way even if the claim were lost."""

    async def open_overdue(session: AsyncSession, wait: ChatWait, now: datetime) -> None:
        question = " ".join(wait.question.split())
        if len(question) > SUBJECT_CHARS:
            question = question[: SUBJECT_CHARS - 1] + "…"
        await open_ticket(
            session,
            now,
            TicketRequest(
                customer_id=wait.customer_id,
                subject=f"超时未回复：{question}" if question else "超时未回复",
                source=TicketSource.OVERDUE,
                priority="high",
                channel=wait.channel,
                chat_id=wait.chat_id,
                source_key=f"overdue:wait:{wait.id}",
                message_ids=[wait.first_message_id] if wait.first_message_id is not None else [],
                policy=policy,
            ),
        )

    return open_overdue
