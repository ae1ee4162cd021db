"""The FAQ use case: what the bot does with one customer question, per channel, recorded once per message.

kf and the Official Account: a confident answer goes to the customer (if the window has room); between the
thresholds a "did you mean" menu (services/faq/menus.py), or a rep's suggestion when the window cannot afford it;
repeated misses (one rule for both) hand the customer to a person: in kf the session is transferred, on the OA the
follower is held for a person (services/faq/oa_handoff.py, oa_person.py). In kf "人工"/"转人工"/"投诉" does too.
Customer groups and reps' 1:1 chats (read through the archive, where the bot cannot post): a private suggested
reply to the rep, unless a member already answered; or, in a group switched to `group_send_task`, a one-group
mass task for the rep to confirm. Every decision lands in `faq_replies`; every question not answered confidently
in `unanswered_questions`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import notify, unanswered
from services.faq import reach as customer_reach
from services.faq.answer_types import Outcome, Policy, Question
from services.faq.engine import FaqEngine
from services.faq.handoff import choose_servicer, hand_off, is_handoff_request
from services.faq.menus import MENU_SENT, did_you_mean, remember_menu
from services.faq.oa_handoff import OaAsk, oa_hand_off
from services.faq.reach import Reach
from services.faq.types import Action, Decision
from services.faq.unanswered import Asked
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from storage.kf_state import WITH_PERSON
from storage.models.faq import FaqDecision, GroupFaqMode, KbEntry
from storage.models.messages import KfSession
from storage.models.outbox import Priority
from storage.repos import faq as faq_repo
from storage.repos.faq import NewReply
from storage.repos.windows import kf_recipient

log = logging.getLogger("qunke.faq")

NOT_QUESTIONS: Final = frozenset({"chitchat", "not_question", "empty"})


async def handle_question(
    session: AsyncSession, engine: FaqEngine, q: Question, policy: Policy, owner: str | None, now: datetime
) -> Outcome:
    """Decide and act on one question; `owner` is the rep who should hear about it (group owner, owner rep)."""
    if await faq_repo.reply_for_message(session, q.message_id) is not None:
        return Outcome(None, "already_handled")
    in_flight = False
    if q.chat_type == "kf":
        state = await session.get(KfSession, (q.chat_id, q.external_userid))
        if state is not None and state.state in WITH_PERSON:
            return Outcome(None, "with_person")
        in_flight = await faq_repo.handoff_in_flight(session, kf_recipient(q.chat_id, q.external_userid))
        if is_handoff_request(q.text, policy.handoff.words):
            if in_flight:
                return Outcome(None, "handoff_in_flight")
            return await _hand_off(session, q, policy, owner, "客户要求人工服务", now)
    if q.chat_type == "group" and (await faq_repo.group_mode(session, q.chat_id)) == GroupFaqMode.OFF:
        return Outcome(None, "group_off")
    decision = await engine.decide(session, q.text)
    if decision.reason in NOT_QUESTIONS:
        return Outcome(None, decision.reason)
    if q.chat_type in ("kf", "oa"):
        if not in_flight and await _last_straw(session, q, decision, policy):
            await _unanswered(session, q, decision, FaqDecision.HANDOFF, policy, now)
            why = f"连续 {policy.handoff.after_misses} 个问题未能自动解答"
            return await _hand_off(session, q, policy, owner, why, now, decision)
        return await _to_customer(session, q, decision, policy, owner, now)
    return await _to_rep(session, q, decision, policy, owner, now)


async def _last_straw(session: AsyncSession, q: Question, decision: Decision, policy: Policy) -> bool:
    """This question is another miss, and with it the customer has missed `after_misses` times in a row."""
    if decision.action is Action.ANSWER or q.customer_id is None or policy.handoff.after_misses <= 0:
        return False
    misses = await faq_repo.misses_since_help(session, q.customer_id, q.chat_id)
    return misses + 1 >= policy.handoff.after_misses


async def _to_customer(
    session: AsyncSession, q: Question, decision: Decision, policy: Policy, owner: str | None, now: datetime
) -> Outcome:
    best = decision.best
    reason = decision.reason
    reach = reach_of(q)
    if decision.action is Action.ANSWER and best is not None:
        if await _answered_recently(session, q, best.entry_id, policy, now):
            return await _record(session, q, decision, FaqDecision.SILENT, "repeat", now)
        if await customer_reach.room(session, policy.budgets, reach, now) > 0:
            reply = Text(f"{await _answer_of(session, best.entry_id)}\n\n{policy.contact_line}")
            outbox_id = await customer_reach.send(session, now, reach, reply, f"faq:{q.message_id}")
            return await _record(session, q, decision, FaqDecision.ANSWERED, "answered", now, outbox_id=outbox_id)
        reason = "no_window"  # the window has no room left: a person answers instead
    elif decision.action is Action.SUGGEST and policy.menus:
        room = await customer_reach.room(session, policy.budgets, reach, now)
        sent = await did_you_mean(session, reach, q.message_id, decision, room, now)
        if sent is not None:
            await _unanswered(session, q, decision, MENU_SENT, policy, now)
            await remember_menu(session, q.message_id, sent.entries)
            return await _record(session, q, decision, FaqDecision.SUGGESTED, "menu", now, outbox_id=sent.outbox_id)
        reason = "menu_no_room"  # the menu and the answer after it would not both fit: a rep suggests instead
    rep = owner or choose_servicer(None, q.customer_id, policy.handoff.on_duty)
    if decision.action is not Action.SILENT and best is not None and rep:
        outbox_id = await _suggest(session, q, decision, rep, now)
        await _unanswered(session, q, decision, FaqDecision.SUGGESTED, policy, now)
        return await _record(session, q, decision, FaqDecision.SUGGESTED, reason, now, rep, outbox_id)
    await _unanswered(session, q, decision, FaqDecision.SILENT, policy, now)
    return await _record(session, q, decision, FaqDecision.SILENT, reason, now)


async def _to_rep(
    session: AsyncSession, q: Question, decision: Decision, policy: Policy, owner: str | None, now: datetime
) -> Outcome:
    best = decision.best
    if decision.action is Action.SILENT or best is None:
        await _unanswered(session, q, decision, FaqDecision.SILENT, policy, now)
        return await _record(session, q, decision, FaqDecision.SILENT, decision.reason, now)
    unsure = decision.action is Action.SUGGEST  # a confident match is not "unanswered", even if a rep relays it
    owner = owner or choose_servicer(None, q.customer_id, policy.handoff.on_duty)  # a group not read yet
    if await faq_repo.member_spoke_after(session, q.chat_id, q.message_id):
        outcome = await _record(session, q, decision, FaqDecision.SILENT, "member_answered", now)
    elif await _answered_recently(session, q, best.entry_id, policy, now):
        outcome = await _record(session, q, decision, FaqDecision.SILENT, "repeat", now)
    elif not owner:
        outcome = await _record(session, q, decision, FaqDecision.SILENT, "no_rep", now)
    elif decision.action is Action.ANSWER and await _task_mode(session, q):
        answer = await _answer_of(session, best.entry_id)
        task_id = await queue_mass_task(
            session,
            now,
            sender=owner,
            chat_type="group",
            targets=[q.chat_id],
            content=MassContent(answer),
            key=f"faq-task:{q.message_id}",
            priority=Priority.HIGH,
        )
        where = await notify.where_asked(session, q.chat_type, q.chat_id)
        await notify.task_to_confirm(session, now, owner, where, q.text, f"faq-task-alert:{q.message_id}")
        outcome = await _record(session, q, decision, FaqDecision.TASK, "group_send_task", now, owner, task_id)
    else:
        outbox_id = await _suggest(session, q, decision, owner, now)
        outcome = await _record(session, q, decision, FaqDecision.SUGGESTED, decision.reason, now, owner, outbox_id)
    if unsure:
        await _unanswered(session, q, decision, outcome.decision or FaqDecision.SILENT, policy, now)
    return outcome


async def _task_mode(session: AsyncSession, q: Question) -> bool:
    return q.chat_type == "group" and await faq_repo.group_mode(session, q.chat_id) == GroupFaqMode.GROUP_SEND_TASK


async def _suggest(session: AsyncSession, q: Question, decision: Decision, userid: str, now: datetime) -> int:
    best = decision.best
    assert best is not None
    return await notify.suggest_reply(
        session,
        now,
        userid,
        where=await notify.where_asked(session, q.chat_type, q.chat_id),
        who=await notify.customer_name(session, q.customer_id),
        question=q.text,
        answer=await _answer_of(session, best.entry_id),
        best=best,
        key=f"faq-suggest:{q.message_id}",
    )


async def hand_off_question(
    session: AsyncSession, q: Question, policy: Policy, owner: str | None, why: str, now: datetime, words: str
) -> Outcome:
    """Hand the kf customer who sent `q` to a person, recorded as that message's FAQ decision; `words` is what they
    asked, for the ticket's subject ("都不是" names no question: the menu's question does)."""
    return await _hand_off(session, q, policy, owner, why, now, words=words)


async def hand_off_follower(
    session: AsyncSession, q: Question, policy: Policy, owner: str | None, why: str, now: datetime, words: str
) -> Outcome:
    """Hand the OA follower who sent `q` to a person ("人工" typed, "都不是"), recorded as that message's decision.
    A follower already held for a person never gets here (handlers/faq checks the hold first)."""
    if await faq_repo.reply_for_message(session, q.message_id) is not None:
        return Outcome(None, "already_handled")
    return await _hand_off(session, q, policy, owner, why, now, words=words)


async def _hand_off(
    session: AsyncSession,
    q: Question,
    policy: Policy,
    owner: str | None,
    why: str,
    now: datetime,
    decision: Decision | None = None,
    words: str | None = None,
) -> Outcome:
    """Hand off the customer who sent `q`; the ticket's subject quotes `words` (default: the message itself)."""
    words = q.text if words is None else words
    if q.chat_type == customer_reach.OA:
        ask = OaAsk(q.message_id, q.customer_id, q.chat_id, words)
        oa = await oa_hand_off(session, reach_of(q), ask, owner, why, policy.handoff, policy.budgets, now)
        return await _handed_off(session, q, decision, why, now, (oa.rep, oa.notice_id, oa.alerted))
    done = await hand_off(
        session, q.message_id, q.chat_id, q.external_userid, q.customer_id, owner, why, policy.handoff, now, words
    )
    if done.servicer is None:
        told = f"managers to alert: {', '.join(done.alerted)}" if done.alerted else "no managers (service.managers)"
        log.warning(
            "kf hand-off for message %s: no owner rep and no one on duty (service.on_duty); queued in the kf pool, %s",
            q.message_id,
            told,
        )
    return await _handed_off(session, q, decision, why, now, (done.servicer, done.trans_id, done.alerted))


async def _handed_off(
    session: AsyncSession,
    q: Question,
    decision: Decision | None,
    why: str,
    now: datetime,
    done: tuple[str | None, int | None, tuple[str, ...]],
) -> Outcome:
    """Record a hand-off as the message's decision; `done` = who takes it, the outbox row, who was alerted."""
    member, outbox_id, alerted = done
    best = decision.best if decision is not None else None
    confidence = decision.confidence if decision is not None else 0.0
    entry_id = best.entry_id if best is not None else None
    reply = NewReply(
        q.message_id, q.customer_id, q.channel, q.chat_id, entry_id, FaqDecision.HANDOFF, confidence, member, outbox_id
    )
    await faq_repo.add_reply(session, reply, now)
    return Outcome(FaqDecision.HANDOFF, why, entry_id, confidence, member, outbox_id, alerted)


async def _record(
    session: AsyncSession,
    q: Question,
    decision: Decision,
    what: str,
    reason: str,
    now: datetime,
    member: str | None = None,
    outbox_id: int | None = None,
) -> Outcome:
    best = decision.best
    entry_id = best.entry_id if best is not None else None
    reply = NewReply(
        q.message_id, q.customer_id, q.channel, q.chat_id, entry_id, what, decision.confidence, member, outbox_id
    )
    await faq_repo.add_reply(session, reply, now)
    return Outcome(what, reason, entry_id, decision.confidence, member, outbox_id)


async def _unanswered(
    session: AsyncSession, q: Question, decision: Decision, what: str, policy: Policy, now: datetime
) -> None:
    asked = Asked(q.message_id, q.customer_id, q.channel, q.chat_id, q.text, q.asked_at)
    await unanswered.record(session, asked, decision, what, policy.grouping, now)


async def _answered_recently(session: AsyncSession, q: Question, entry_id: str, policy: Policy, now: datetime) -> bool:
    if q.customer_id is None:
        return False
    # Per conversation: a suggestion a rep got for a group question must not silence the kf answer later.
    since = now - policy.repeat_window
    return await faq_repo.answered_recently(session, q.customer_id, entry_id, since, chat_id=q.chat_id)


def reach_of(q: Question) -> Reach:
    """The kf session or OA follower who asked `q` (only kf and OA questions are answered to the customer)."""
    found = customer_reach.reach_of(q.chat_type, q.chat_id, q.external_userid, q.openid)
    if found is None:
        raise ValueError(f"the bot cannot write in a {q.chat_type} chat")
    return found


async def _answer_of(session: AsyncSession, entry_id: str) -> str:
    entry = await session.get(KbEntry, entry_id)
    return entry.answer if entry is not None else ""
