"""Tickets: rep commands to the app, and complaint tickets from what customers say in any chat."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import ChatMessage, MemberText, Speaker
from bot.ingest.page import stored_message
from handlers.tickets.commands import is_command, parse_command, run_command
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message
from services.surveys import answers as survey_answers
from services.text.tone import is_complaint
from services.tickets import opening as tickets
from storage.models.tickets import TicketSource

router = Router("tickets")


@router.on(MemberText, lambda e: is_command(e.text))
async def on_rep_command(event: MemberText, ctx: Context) -> None:
    command = parse_command(event.text)
    assert command is not None
    now = ctx.clock.now()
    policies = ctx.features.policies
    answer = await run_command(ctx.session, now, event.member_userid, command, policies.tickets, policies.surveys)
    if answer:  # empty when another message to this rep (a note to ask for a score) already says it
        await queue_app_message(ctx.session, now, [event.member_userid], Text(answer), key=f"cmd:{event.source_key}")


def _customer_text(event: ChatMessage) -> bool:
    return event.speaker == Speaker.CUSTOMER and event.customer is not None and bool(event.text.strip())


@router.watch(ChatMessage, _customer_text)
async def on_customer_message(event: ChatMessage, ctx: Context) -> None:
    """A complaint ("投诉", "差评", strong negative words) opens a ticket, or joins the customer's open one."""
    config = ctx.features.settings.tickets
    if not is_complaint(event.text, config.complaint_words):
        return
    stored = await stored_message(ctx, event.source_key)
    if stored is None or stored.customer_id is None:
        return
    if await survey_answers.answered_by(ctx.session, [stored.id]):
        return  # "差评" as the answer to a survey: the low score already opened or reopened a ticket
    await tickets.open_or_link(
        ctx.session,
        ctx.clock.now(),
        tickets.TicketRequest(
            customer_id=stored.customer_id,
            subject=event.text[:500],
            source=TicketSource.COMPLAINT,
            priority=config.complaint_priority,
            channel=event.channel.value,
            chat_id=event.chat_id,
            source_key=f"complaint:{event.source_key}",
            message_ids=[stored.id],
            policy=ctx.features.policies.tickets,
        ),
    )
