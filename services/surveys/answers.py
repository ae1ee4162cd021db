"""Reading a survey's answer from the customer's reply, recording the score, and escalating a low one to a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import Text
from services.outbox.queue import queue_kf_reply, queue_oa_message
from services.service.alert_text import member_names
from services.service.alerts import Alert, alert_member, quote_customer_text
from services.surveys.asking import TRIGGER_TEXT, SurveyPolicy, is_low, owner_rep
from services.surveys.parse import Kind, parse_answer
from services.tickets import opening as tickets
from services.tickets.opening import Opened, Outcome, TicketPolicy
from services.tickets.text import label
from storage.models.customers import Customer
from storage.models.messages import Message
from storage.models.service import ServiceAlert
from storage.models.surveys import CustomerScore, Survey, SurveyKind, SurveyStatus
from storage.models.tickets import Ticket, TicketSource
from storage.repos import contacts, timeline


@dataclass(frozen=True, slots=True)
class Answered:
    survey: Survey
    score: int
    low: bool
    ticket: Ticket | None = None
    ticket_outcome: Outcome | None = None
    alerted: tuple[str, ...] = ()


async def pending_for(session: AsyncSession, customer_id: int, now: datetime) -> Survey | None:
    stmt = select(Survey).where(
        Survey.customer_id == customer_id, Survey.status == SurveyStatus.PENDING, Survey.expires_at > now
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


def _same_chat(survey: Survey, message: Message) -> bool:
    """The answer is read from the chat the survey went to; a rep's note means any 1:1 archive chat (not groups)."""
    if survey.channel == "archive":
        return message.channel == "archive" and message.chat_type == "single"
    if survey.channel == "oa":  # asked of the follower's openid; their messages' chat is "oa:<openid>", sent by it
        return message.channel == "oa" and message.sender_id == survey.chat_id
    return message.channel == survey.channel and message.chat_id == survey.chat_id


async def take_answer(
    session: AsyncSession,
    now: datetime,
    message: Message,
    *,
    menu_id: str = "",
    policy: SurveyPolicy,
    ticket_policy: TicketPolicy,
) -> Answered | None:
    """The customer's message as the answer to their pending survey, or None: then it is just a message."""
    if message.customer_id is None or message.sender_kind != "customer":
        return None
    survey = await pending_for(session, message.customer_id, now)
    if survey is None or not _same_chat(survey, message):
        return None
    kind: Kind = "nps" if survey.kind == SurveyKind.NPS else "csat"
    score = parse_answer(message.text, kind, menu_id)
    if score is None:
        return None
    if not await _claim(session, survey, score, message):
        return None  # answered a moment ago by another message
    customer = await contacts.customer_by_id(session, message.customer_id)
    assert customer is not None
    await _record_score(session, survey, customer, score, message)
    low = is_low(survey.kind, score)
    await _reply(session, now, survey, policy.low_score_reply if low else policy.thanks)
    if not low:
        return Answered(survey, score, low)
    return await _escalate(session, now, survey, customer, score, message, policy, ticket_policy)


async def _claim(session: AsyncSession, survey: Survey, score: int, message: Message) -> bool:
    """Mark the pending survey answered by `message`; False when another message answered it first."""
    claimed = await session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == SurveyStatus.PENDING)
        .values(
            status=SurveyStatus.ANSWERED,
            score=score,
            answer_text=message.text[:500],
            answer_message_id=message.id,
            answered_at=message.sent_at,
        )
    )
    if not getattr(claimed, "rowcount", 0):
        return False
    await session.refresh(survey)
    return True


async def _record_score(
    session: AsyncSession, survey: Survey, customer: Customer, score: int, message: Message
) -> None:
    """The customer's latest score on the profile, and a timeline entry ("csat_answered" / "nps_answered")."""
    at = message.sent_at
    row = await session.get(CustomerScore, customer.id)
    if row is None:
        row = CustomerScore(customer_id=customer.id)
        session.add(row)
    if survey.kind == SurveyKind.CSAT and (row.csat_at is None or row.csat_at <= at):
        row.csat, row.csat_at = score, at
    if survey.kind == SurveyKind.NPS and (row.nps_at is None or row.nps_at <= at):
        row.nps, row.nps_at = score, at
    await session.flush()
    await timeline.add_event_once(
        session,
        customer_id=customer.id,
        kind=f"{survey.kind}_answered",
        occurred_at=at,
        source_key=f"survey:{survey.id}:answered",
        chat_id=message.chat_id[:64] or None,
        detail={"score": score, "trigger": survey.trigger, "survey_id": survey.id, "ticket_id": survey.ticket_id},
    )


async def _reply(session: AsyncSession, now: datetime, survey: Survey, text: str) -> None:
    """A short thanks (or apology) where the bot can post: kf and the Official Account."""
    if not text:
        return
    key = f"survey:{survey.id}:reply"
    if survey.channel == "kf":
        customer = await contacts.customer_by_id(session, survey.customer_id)
        external = customer.external_userid if customer is not None else None
        if external:
            await queue_kf_reply(session, now, survey.chat_id, external, Text(text), key=key)
    elif survey.channel == "oa":
        await queue_oa_message(session, now, survey.chat_id, Text(text), key=key)


async def _escalate(
    session: AsyncSession,
    now: datetime,
    survey: Survey,
    customer: Customer,
    score: int,
    message: Message,
    policy: SurveyPolicy,
    ticket_policy: TicketPolicy,
) -> Answered:
    """A low score: open or reopen a ticket, then alert the owner rep and the managers at once."""
    scale = 5 if survey.kind == SurveyKind.CSAT else 10
    trigger = TRIGGER_TEXT.get(survey.trigger, "")
    opened = await tickets.open_or_link(
        session,
        now,
        tickets.TicketRequest(
            customer_id=customer.id,
            subject=f"{survey.kind.upper()} 低分 {score}/{scale}（{trigger}）：{message.text[:200]}",
            source=TicketSource.LOW_SCORE,
            priority=policy.low_priority,
            channel=message.channel,
            chat_id=message.chat_id,
            source_key=f"survey:{survey.id}",
            message_ids=[message.id],
            policy=ticket_policy,
            reopen_ticket_id=survey.ticket_id,
            tell_assignee=False,  # the low-score alert below names the ticket: one alert per person, not two
        ),
    )
    assignee = opened.ticket.assignee_userid
    owner = await owner_rep(session, customer)
    people = (assignee, owner, *policy.managers, *ticket_policy.managers)
    recipients = list(dict.fromkeys(u for u in people if u))
    assignee_name = (await member_names(session, [assignee])).get(assignee, assignee) if assignee else ""
    alert = _low_score_alert(survey, customer, f"{score}/{scale}", trigger, opened, message, assignee_name)
    await _send_low_score_alerts(session, now, survey, customer, alert, recipients)
    return Answered(survey, score, True, opened.ticket, opened.outcome, tuple(recipients))


def _low_score_alert(
    survey: Survey, customer: Customer, score: str, trigger: str, opened: Opened, message: Message, assignee: str
) -> Alert:
    """What the owner rep and the managers read: the score, who, and which ticket now follows it up."""
    ref = label(opened.ticket.id)
    did = {Outcome.REOPENED: f"已重新打开工单 {ref}", Outcome.LINKED: f"已记入工单 {ref}"}.get(
        opened.outcome, f"已开工单 {ref}"
    )
    name = quote_customer_text(customer.name, 40).strip("「」") or f"客户{customer.id}"
    body = f"客户：{name}（{trigger}评价）· {did}，负责人：{assignee or '待分配'}"
    if not assignee:  # the managers' only alert about this ticket: it must say nobody has it yet
        body += f"\n工单无人负责，请回复「认领 {ref}」认领或分配给客服。"
    return Alert(
        title=f"客户低分：{survey.kind.upper()} {score}",
        body=body,
        customer_text=message.text,
    )


async def _send_low_score_alerts(
    session: AsyncSession, now: datetime, survey: Survey, customer: Customer, alert: Alert, recipients: list[str]
) -> None:
    """Each recipient's alert, and a `service_alerts` row saying it was sent for this survey."""
    for userid in recipients:
        queued = await alert_member(session, now, userid, alert, key=f"survey:{survey.id}:low:{userid}")
        session.add(
            ServiceAlert(
                alert_key=f"low_score:{survey.id}:{userid}",
                kind="low_score",
                customer_id=customer.id,
                member_userid=userid,
                outbox_id=queued.outbox_id,
                created_at=now,
            )
        )
    await session.flush()


async def answered_a_survey(session: AsyncSession, message: Message) -> bool:
    """Whether this customer message answered a survey (the complaint detector and the FAQ leave those alone).

    Looked up by the customer's answered surveys (index ix_surveys_customer_status), not by the answer's message
    id, which has no index: the FAQ asks this of every question."""
    if message.customer_id is None:
        return False
    stmt = select(Survey.id).where(
        Survey.customer_id == message.customer_id,
        Survey.status == SurveyStatus.ANSWERED,
        Survey.answer_message_id == message.id,
    )
    return (await session.scalar(stmt.limit(1))) is not None
