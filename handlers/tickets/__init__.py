"""Tickets: rep commands to the app, and complaint tickets from what customers say in any chat."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import ChatMessage, MemberText, MessageChannel, Speaker
from bot.ingest.page import stored_message
from handlers.tickets.commands import REPLY, REPLY_USAGE, Command, is_command, parse_command, run_command
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message, queue_kf_reply, queue_oa_message
from services.surveys import answers as survey_answers
from services.text.tone import is_complaint
from services.tickets import opening as tickets
from services.tickets.relay import relay_reply
from storage.models.tickets import TicketSource

router = Router("tickets")


@router.on(MemberText, lambda e: is_command(e.text))
async def on_rep_command(event: MemberText, ctx: Context) -> None:
    command = parse_command(event.text)
    assert command is not None
    now = ctx.clock.now()
    policies = ctx.features.policies
    if command.verb == REPLY:
        answer = await _relay(event, command, ctx)
    else:
        answer = await run_command(ctx.session, now, event.member_userid, command, policies.tickets, policies.surveys)
    if answer:  # empty when another message to this rep (a note to ask for a score) already says it
        await queue_app_message(ctx.session, now, [event.member_userid], Text(answer), key=f"cmd:{event.source_key}")


async def _relay(event: MemberText, command: Command, ctx: Context) -> str:
    """ "回复 T12 …": the rep's words to the ticket's OA follower (services/tickets/relay.py)."""
    if command.ticket_id is None or not command.body:
        return REPLY_USAGE
    rules = ctx.features.policies.relay
    now = ctx.clock.now()
    relayed = await relay_reply(
        ctx.session, now, event.member_userid, command.ticket_id, command.body, event.source_key, rules
    )
    return relayed.message


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
    if await survey_answers.answered_a_survey(ctx.session, stored):
        return  # "差评" as the answer to a survey: the low score already opened or reopened a ticket
    opened = await tickets.open_or_link(
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
    if opened.outcome in (tickets.Outcome.OPENED, tickets.Outcome.REOPENED) and config.complaint_ack:
        await _acknowledge(event, opened.ticket.id, config.complaint_ack, ctx)


async def _acknowledge(event: ChatMessage, ticket_id: int, template: str, ctx: Context) -> None:
    """Where the bot may speak to the customer (kf, the OA), say the complaint is registered: silence after "太失望了"
    reads as being ignored. In groups and 1:1 chats the bot cannot speak; the rep's alert is the answer there."""
    text = Text(template.format(ref=f"T{ticket_id}"))
    key = f"complaint-ack:{event.source_key}"
    now = ctx.clock.now()
    assert event.customer is not None
    if event.channel == MessageChannel.KF:
        await queue_kf_reply(ctx.session, now, event.chat_id, event.customer.external_userid, text, key=key)
    elif event.channel == MessageChannel.OA:
        await queue_oa_message(ctx.session, now, event.customer.openid, text, key=key)  # the chat is "oa:<openid>"
