"""Surveys in the chat: a kf session's end asks for a score; a customer's reply answers their pending survey."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import ChatMessage, KfSessionChanged, Speaker
from bot.ingest.page import stored_message
from services.conversations import recording as conversations
from services.conversations.recording import PersonRef
from services.surveys import answers as survey_answers
from services.surveys import triggers as survey_triggers

router = Router("surveys")


def _from_customer(event: ChatMessage) -> bool:
    return event.speaker == Speaker.CUSTOMER and event.customer is not None


@router.watch(ChatMessage, _from_customer)
async def on_customer_message(event: ChatMessage, ctx: Context) -> None:
    """Read only while a survey is pending for this customer in this chat; otherwise it is just a message."""
    stored = await stored_message(ctx, event.source_key)
    if stored is None or stored.customer_id is None:
        return  # take_answer reads nothing without a customer
    now = ctx.clock.now()
    if ctx.page is not None and not await ctx.page.may_have_pending_survey(stored.customer_id, now):
        return  # most customers have no survey pending: one query for the whole page tells
    policies = ctx.features.policies
    await survey_answers.take_answer(
        ctx.session,
        now,
        stored,
        menu_id=event.menu_id,
        policy=policies.surveys,
        ticket_policy=policies.tickets,
    )


@router.watch(KfSessionChanged, lambda e: e.change == "ended" and bool(e.code))
async def on_kf_session_ended(event: KfSessionChanged, ctx: Context) -> None:
    """The session-end msg_code allows one message within 20 s: the satisfaction menu rides on it."""
    now = ctx.clock.now()
    person = event.customer
    ref = PersonRef.of(person)
    customer = await conversations.customer_for(ctx.session, ref, now)
    await survey_triggers.ask_on_kf_end(
        ctx.session,
        now,
        customer=customer,
        open_kfid=event.open_kfid,
        external_userid=person.external_userid,
        code=event.code,
        ended_at=event.occurred_at,
        source_key=event.source_key,
        policy=ctx.features.policies.surveys,
    )
