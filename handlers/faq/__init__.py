"""FAQ answering: every customer text message goes to services/faq/answering.py (answer, suggest, hand off, learn)."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.dispatch import Context, Router
from bot.events import ChatMessage, FaqQuestionQueued, MessageChannel, Speaker
from services.customers.contact_prefs import preference_word
from services.faq.answer_types import Outcome, Policy, Question
from services.faq.answering import hand_off_follower, handle_question, reach_of
from services.faq.greeting import greet_once
from services.faq.handoff import is_handoff_request
from services.faq.jobs import QuestionBatch, queue_question
from services.faq.menu_clicks import handle_menu_click
from services.faq.menus import is_faq_menu_id
from services.faq.oa_person import held_message
from services.faq.oa_rehold import current_hold
from services.faq.questions import question_from, rep_for
from services.surveys import answers as survey_answers
from services.text.intent import is_chitchat
from storage.models.faq import FaqDecision
from storage.repos import messages

log = logging.getLogger("qunke.faq")
router = Router("faq")
GREETING_CHANNELS = (MessageChannel.KF, MessageChannel.OA)
OA_REQUEST_REASON = "客户要求人工服务"  # kf's reason for the same request (services/faq/answering.py)


def _customer_text(event: ChatMessage) -> bool:
    # Menu taps are answers to our own menus (CSAT and others), not questions.
    return (
        event.speaker is Speaker.CUSTOMER
        and event.customer is not None
        and event.msgtype == "text"
        and not event.menu_id
        and bool(event.text.strip())
    )


def _faq_menu_tap(event: ChatMessage) -> bool:
    return event.speaker is Speaker.CUSTOMER and event.customer is not None and is_faq_menu_id(event.menu_id)


def _oa_other_message(event: ChatMessage) -> bool:
    # An image, a voice note, a tap on another menu: nothing the FAQ answers, but a person holding the follower
    # (services/faq/oa_person.py) hears of it like of a text.
    return (
        event.channel is MessageChannel.OA
        and event.speaker is Speaker.CUSTOMER
        and event.customer is not None
        and not _customer_text(event)
        and not _faq_menu_tap(event)
    )


@router.watch(ChatMessage, _customer_text)
async def on_customer_text(event: ChatMessage, ctx: Context) -> None:
    """Queue the question as its own job: the pull's page stays short, the FAQ's work gets its own transaction."""
    words = ctx.features.settings.campaigns
    if preference_word(event.text, words.optout_words, words.optin_words, words.optout_sentences) is not None:
        return  # "退订" is a request handlers/optout answers, not a question
    # kf and OA chit-chat is queued too: the conversation's first one gets the greeting menu (services/faq/greeting.py);
    # on the OA every message is, as a follower held for a person may need their rep to hear of it.
    greets = event.channel in GREETING_CHANNELS and ctx.features.settings.faq.menus
    if ctx.features.faq is not None and (greets or event.channel is MessageChannel.OA or not is_chitchat(event.text)):
        await _queue(ctx, event.source_key)


@router.watch(ChatMessage, _faq_menu_tap)
async def on_menu_tap(event: ChatMessage, ctx: Context) -> None:
    """A tap on one of the FAQ's own menus is decided as a job too, like a question."""
    if ctx.features.faq is not None:
        await _queue(ctx, event.source_key)


@router.watch(ChatMessage, _oa_other_message)
async def on_oa_other_message(event: ChatMessage, ctx: Context) -> None:
    """Any other OA message goes through the same job, which only looks at the follower's hold."""
    if ctx.features.faq is not None:
        await _queue(ctx, event.source_key)


async def _queue(ctx: Context, message_key: str) -> None:
    if ctx.page is not None:  # a page of messages queues its questions in one statement when intake flushes it
        ctx.page.batch(QuestionBatch).add(message_key, ctx.clock.now())
    else:
        await queue_question(ctx.session, message_key, ctx.clock.now())


@router.on(FaqQuestionQueued)
async def on_question(event: FaqQuestionQueued, ctx: Context) -> None:
    engine = ctx.features.faq
    stored = await messages.by_source_key(ctx.session, event.message_key)
    if engine is None or stored is None or stored.recalled_at is not None:
        return
    if await survey_answers.answered_a_survey(ctx.session, stored):
        return  # "两星，太慢了" answered a survey: the low-score flow has it, not a question for the KB
    question = question_from(stored)
    policy = ctx.features.policies.faq
    now = ctx.clock.now()
    if question.chat_type == "oa" and await _held_for_person(ctx, stored.id, question, now):
        return
    menu_id = str(stored.body.get("menu_id", "")) if stored.msgtype == "text" else ""
    if stored.msgtype != "text" or (menu_id and not is_faq_menu_id(menu_id)):
        return  # an OA follower's image, voice note or tap on another menu: only a hold had anything to do with it
    if question.chat_type in ("kf", "oa") and not is_faq_menu_id(menu_id) and is_chitchat(question.text):
        if policy.menus:
            await _greet(ctx, question, policy, now)
        return
    owner = await rep_for(ctx.session, question)
    if is_faq_menu_id(menu_id):
        outcome = await handle_menu_click(ctx.session, question, menu_id, policy, owner, now)
    elif question.chat_type == "oa" and is_handoff_request(question.text, policy.handoff.words):
        outcome = await hand_off_follower(ctx.session, question, policy, owner, OA_REQUEST_REASON, now, question.text)
    else:
        outcome = await handle_question(ctx.session, engine, question, policy, owner, now)
    if outcome.decision == FaqDecision.HANDOFF and ctx.features.metrics is not None:
        if question.chat_type == "oa":
            ctx.features.metrics.oa_handoffs.labels(_oa_handoff_metric(outcome)).inc()
        else:
            ctx.features.metrics.kf_handoffs.labels(_handoff_metric(outcome)).inc()
    if outcome.decision is not None:
        log.info(
            "faq %s in %s: %s (%s, entry %s, %.2f)",
            stored.id,
            question.chat_type,
            outcome.decision,
            outcome.reason,
            outcome.entry_id,
            outcome.confidence,
        )


async def _held_for_person(ctx: Context, message_id: int, q: Question, now: datetime) -> bool:
    """The follower is with a person: the FAQ stays silent, and whoever holds them hears (at most once a window)."""
    hold_policy = ctx.features.policies.faq.hold
    hold = await current_hold(ctx.session, q.chat_id, now, hold_policy)
    if hold is None:
        return False
    alerts = await held_message(ctx.session, hold, message_id, q.asked_at, now, hold_policy)
    log.info("faq %s in oa: with a person (hold %s), silent; %d alert(s) queued", message_id, hold.id, len(alerts))
    return True


async def _greet(ctx: Context, q: Question, policy: Policy, now: datetime) -> None:
    reach = reach_of(q)
    sent = await greet_once(ctx.session, reach, q.chat_id, q.customer_id, q.message_id, policy.budgets, now)
    if sent is not None:
        log.info("faq greeting menu for %s message %s (outbox %s)", q.chat_type, q.message_id, sent)


def _oa_handoff_metric(outcome: Outcome) -> str:
    if outcome.member_userid:
        return "rep"
    return "managers" if outcome.alerted else "unattended"


def _handoff_metric(outcome: Outcome) -> str:
    if outcome.member_userid:
        return "servicer"
    return "pool_no_servicer" if outcome.alerted else "pool_unattended"
