"""In-chat CSAT/NPS: ask at the right moment (one pending per customer), read the answer, escalate low scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import identity, tickets
from services.alerts import Alert, alert_member, quote_customer_text
from services.clock import Clock
from services.messages import CustomerMessage, Menu, MenuItem, Text
from services.outbox import queue_kf_event_message, queue_kf_reply, queue_oa_message
from services.surveys_parse import Kind, menu_id, parse_answer
from services.tickets import Outcome, TicketPolicy
from storage.db import dialect_of
from storage.models import Customer, KfSession, Message, OaWindow
from storage.models_service import (
    CustomerScore,
    Purchase,
    ServiceAlert,
    Survey,
    SurveyKind,
    SurveyStatus,
    Ticket,
    TicketSource,
)
from storage.repos import contacts, timeline

KF_SENDABLE: Final = (0, 1)  # kf/send_msg only in session state 0 (untreated) or 1 (bot) (WECOM.md §2d)
KF_WINDOW: Final = timedelta(hours=48)
OA_MESSAGE_WINDOW: Final = timedelta(hours=48)
OA_ACTION_WINDOW: Final = timedelta(seconds=60)
KF_END_CODE_TTL: Final = timedelta(seconds=20)  # the session-end msg_code: 1 message within 20 s (WECOM.md §2d)
PURCHASE_LOOKBACK: Final = timedelta(days=2)  # a missed run still asks; a purchase from long ago never does
CSAT_LOW: Final = 2
NPS_LOW: Final = 6
CSAT_LABELS: Final = {
    5: "⭐⭐⭐⭐⭐ 非常满意",
    4: "⭐⭐⭐⭐ 满意",
    3: "⭐⭐⭐ 一般",
    2: "⭐⭐ 不满意",
    1: "⭐ 非常不满意",
}
TRIGGER_TEXT: Final = {"ticket_solved": "工单解决后", "kf_session_end": "客服会话结束后", "purchase": "购买后"}


class Trigger(StrEnum):
    TICKET_SOLVED = "ticket_solved"
    KF_SESSION_END = "kf_session_end"
    PURCHASE = "purchase"
    MANUAL = "manual"


class How(StrEnum):
    KF_EVENT = "kf_event"  # send_msg_on_event with the session-end code
    KF = "kf"  # kf/send_msg within the customer's 48 h window
    OA = "oa"  # an Official Account customer-service message within the follower's window
    REP_NOTE = "rep_note"  # the bot cannot post there: the rep is asked privately to ask


@dataclass(frozen=True, slots=True)
class SurveyPolicy:
    """What surveys need from config (handlers.tickets.settings builds it from Settings)."""

    expire: timedelta = timedelta(hours=48)
    after_purchase: timedelta = timedelta(days=3)
    kinds: Mapping[str, str] = field(
        default_factory=lambda: {"ticket_solved": "csat", "kf_session_end": "csat", "purchase": "nps"}
    )
    rep_note: bool = True
    csat_question: str = "请为本次服务打分：回复 1-5 分（5 分为非常满意）。"
    csat_menu_head: str = "请为本次服务打分（点击下方选项即可）："
    nps_question: str = "您有多大可能把我们推荐给朋友？请回复 0-10 的数字（10 为一定推荐）。"
    thanks: str = "感谢您的评价！"
    low_score_reply: str = "很抱歉没有让您满意，我们已安排专人跟进，会尽快联系您。"
    managers: tuple[str, ...] = ()
    low_priority: str = "high"

    def kind_for(self, trigger: str) -> Kind | None:
        kind = self.kinds.get(trigger, "csat" if trigger == Trigger.MANUAL else "off")
        return kind if kind in ("csat", "nps") else None  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Reach:
    """How a survey reaches the customer, and in which chat the answer is then read."""

    how: How
    channel: str  # kf | oa | archive
    chat_id: str  # open_kfid, openid, or "" (any 1:1 archive chat of the customer)
    external_userid: str = ""
    openid: str = ""
    code: str = ""
    code_expires_at: datetime | None = None
    rep: str = ""


def is_low(kind: str, score: int) -> bool:
    return score <= (CSAT_LOW if kind == SurveyKind.CSAT else NPS_LOW)


def question(kind: Kind, how: How, policy: SurveyPolicy) -> CustomerMessage:
    """kf gets a 1-5 star menu for CSAT; NPS has 11 choices, more than a menu's 10, so it is always text."""
    if kind == "csat" and how in (How.KF, How.KF_EVENT):
        items = tuple(MenuItem(menu_id("csat", score), CSAT_LABELS[score]) for score in (5, 4, 3, 2, 1))
        return Menu(head=policy.csat_menu_head, items=items, tail="也可以直接回复 1-5 分")
    return Text(policy.csat_question if kind == "csat" else policy.nps_question)


# ---- asking ------------------------------------------------------------------------------------------------------


async def find_reach(
    session: AsyncSession,
    now: datetime,
    customer: Customer,
    policy: SurveyPolicy,
    *,
    prefer_channel: str = "",
    prefer_chat: str = "",
    rep: str | None = None,
) -> Reach | None:
    """Where the bot can ask now: an open kf window (state 0/1), an open OA window, else a note to the rep."""
    stmt = select(KfSession).where(
        KfSession.customer_id == customer.id,
        KfSession.state.in_(KF_SENDABLE),
        KfSession.last_customer_msg_at >= now - KF_WINDOW,
    )
    kf = sorted(
        (await session.execute(stmt)).scalars(),
        key=lambda s: (s.open_kfid != prefer_chat, -(s.last_customer_msg_at or now).timestamp()),
    )
    oa_open = False
    if customer.oa_openid:
        window = await session.get(OaWindow, customer.oa_openid)
        if window is not None:
            span = OA_MESSAGE_WINDOW if window.window_kind == "message" else OA_ACTION_WINDOW
            oa_open = window.opened_at >= now - span
    if oa_open and (prefer_channel == "oa" or not kf):
        return Reach(How.OA, "oa", customer.oa_openid or "", openid=customer.oa_openid or "")
    if kf:
        return Reach(How.KF, "kf", kf[0].open_kfid, external_userid=kf[0].external_userid)
    if policy.rep_note and rep:
        return Reach(How.REP_NOTE, "archive", "", rep=rep)
    return None


async def _expire_customer(session: AsyncSession, customer_id: int, now: datetime) -> None:
    await session.execute(
        update(Survey)
        .where(Survey.customer_id == customer_id, Survey.status == SurveyStatus.PENDING, Survey.expires_at <= now)
        .values(status=SurveyStatus.EXPIRED)
    )


async def ask(
    session: AsyncSession,
    now: datetime,
    *,
    customer: Customer,
    kind: Kind,
    trigger: str,
    reach: Reach,
    policy: SurveyPolicy,
    source_key: str,
    ticket_id: int | None = None,
) -> Survey | None:
    """Ask once per `source_key`, and only when no survey is pending for the customer; None when not asked."""
    await _expire_customer(session, customer.id, now)
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    stmt = (
        insert(Survey)
        .values(
            customer_id=customer.id,
            kind=kind,
            trigger=trigger,
            ticket_id=ticket_id,
            channel=reach.channel,
            chat_id=reach.chat_id,
            status=SurveyStatus.PENDING,
            asked_at=now,
            expires_at=now + policy.expire,
            answer_text="",
            source_key=source_key[:200],
        )
        # Either the cause was asked before (source_key) or another survey is pending (uq_surveys_pending).
        .on_conflict_do_nothing()
        .returning(Survey.id)
    )
    survey_id = (await session.execute(stmt)).scalar_one_or_none()
    if survey_id is None:
        return None
    survey = await session.get(Survey, survey_id)
    assert survey is not None
    survey.outbox_id = await _send_question(session, now, survey, customer, reach, policy)
    return survey


async def _send_question(
    session: AsyncSession, now: datetime, survey: Survey, customer: Customer, reach: Reach, policy: SurveyPolicy
) -> int:
    kind: Kind = "nps" if survey.kind == SurveyKind.NPS else "csat"
    key = f"survey:{survey.id}:ask"
    if reach.how == How.KF_EVENT:
        assert reach.code_expires_at is not None
        message = question(kind, reach.how, policy)
        return await queue_kf_event_message(
            session, now, reach.chat_id, reach.external_userid, reach.code, reach.code_expires_at, message, key=key
        )
    if reach.how == How.KF:
        return await queue_kf_reply(
            session, now, reach.chat_id, reach.external_userid, question(kind, reach.how, policy), key=key
        )
    if reach.how == How.OA:
        return await queue_oa_message(session, now, reach.openid, question(kind, reach.how, policy), key=key)
    scale = "1-5 分（5 分为非常满意）" if kind == "csat" else "0-10 分（10 分为一定推荐）"
    name = quote_customer_text(customer.name, 40).strip("「」") or f"客户{customer.id}"
    alert = Alert(
        title="请邀请客户评分",
        body=(
            f"客户：{name}（{TRIGGER_TEXT.get(survey.trigger, '')}）\n"
            f"机器人无法在群聊或你的单聊里发言，请在与客户的单聊中请对方回复 {scale}；"
            f"客户的回复会自动记录，{int(policy.expire.total_seconds() // 3600)} 小时内有效。"
        ),
    )
    return (await alert_member(session, now, reach.rep, alert, key=key)).outbox_id


async def _owner(session: AsyncSession, customer: Customer) -> str | None:
    return (await identity.root_of(session, customer)).owner_userid


async def ask_after_solve(session: AsyncSession, now: datetime, ticket: Ticket, policy: SurveyPolicy) -> Survey | None:
    """Solving a ticket asks the customer how it went, in the ticket's chat when the bot can post there."""
    kind = policy.kind_for(Trigger.TICKET_SOLVED)
    customer = await contacts.customer_by_id(session, ticket.customer_id)
    if kind is None or customer is None:
        return None
    rep = ticket.assignee_userid or await _owner(session, customer)
    reach = await find_reach(
        session, now, customer, policy, prefer_channel=ticket.channel, prefer_chat=ticket.chat_id, rep=rep
    )
    if reach is None:
        return None
    key = f"ticket:{ticket.id}:solved:{ticket.reopened}"
    return await ask(
        session,
        now,
        customer=customer,
        kind=kind,
        trigger=Trigger.TICKET_SOLVED,
        reach=reach,
        policy=policy,
        source_key=key,
        ticket_id=ticket.id,
    )


async def ask_on_kf_end(
    session: AsyncSession,
    now: datetime,
    *,
    customer: Customer,
    open_kfid: str,
    external_userid: str,
    code: str,
    ended_at: datetime,
    source_key: str,
    policy: SurveyPolicy,
) -> Survey | None:
    """A kf session ended with its msg_code: the survey rides on send_msg_on_event (one message, 20 s)."""
    kind = policy.kind_for(Trigger.KF_SESSION_END)
    if kind is None or not code:
        return None
    reach = Reach(
        How.KF_EVENT,
        "kf",
        open_kfid,
        external_userid=external_userid,
        code=code,
        code_expires_at=ended_at + KF_END_CODE_TTL,
    )
    return await ask(
        session,
        now,
        customer=customer,
        kind=kind,
        trigger=Trigger.KF_SESSION_END,
        reach=reach,
        policy=policy,
        source_key=f"kfend:{source_key}",
    )


async def ask_after_purchases(session: AsyncSession, now: datetime, policy: SurveyPolicy, batch: int = 500) -> int:
    """The scheduled job: purchases made `after_purchase` ago (within a short lookback) get their survey once."""
    kind = policy.kind_for(Trigger.PURCHASE)
    if kind is None:
        return 0
    newest = now - policy.after_purchase
    stmt = (
        select(Purchase)
        .where(Purchase.purchased_at <= newest, Purchase.purchased_at > newest - PURCHASE_LOOKBACK)
        .order_by(Purchase.purchased_at)
        .limit(batch)
    )
    purchases = list((await session.execute(stmt)).scalars())
    keys = [f"purchase:{p.id}" for p in purchases]
    asked_before = set((await session.execute(select(Survey.source_key).where(Survey.source_key.in_(keys)))).scalars())
    asked = 0
    for purchase, key in zip(purchases, keys, strict=True):
        customer = await contacts.customer_by_id(session, purchase.customer_id)
        if key in asked_before or customer is None:
            continue
        reach = await find_reach(session, now, customer, policy, rep=await _owner(session, customer))
        if reach is None:
            continue
        survey = await ask(
            session,
            now,
            customer=customer,
            kind=kind,
            trigger=Trigger.PURCHASE,
            reach=reach,
            policy=policy,
            source_key=key,
        )
        asked += survey is not None
    return asked


async def expire_pending(session: AsyncSession, now: datetime) -> int:
    """The scheduled job: surveys unanswered past their expiry stop waiting; how many expired."""
    result = await session.execute(
        update(Survey)
        .where(Survey.status == SurveyStatus.PENDING, Survey.expires_at <= now)
        .values(status=SurveyStatus.EXPIRED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def solve_and_ask(
    session: AsyncSession,
    now: datetime,
    ticket_id: int,
    by: str,
    *,
    ticket_policy: TicketPolicy,
    survey_policy: SurveyPolicy,
    force: bool = False,
) -> tuple[Ticket, Survey | None]:
    """Solve a ticket and ask its customer for a score (rep command "解决 T123" and `qunke ticket solve`)."""
    ticket = await tickets.solve(session, now, ticket_id, by, policy=ticket_policy, force=force)
    return ticket, await ask_after_solve(session, now, ticket, survey_policy)


# ---- answers -----------------------------------------------------------------------------------------------------


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
        return None  # answered a moment ago by another message
    await session.refresh(survey)
    customer = await contacts.customer_by_id(session, message.customer_id)
    assert customer is not None
    await _record_score(session, survey, customer, score, message)
    low = is_low(survey.kind, score)
    await _reply(session, now, survey, policy.low_score_reply if low else policy.thanks)
    if not low:
        return Answered(survey, score, low)
    return await _escalate(session, now, survey, customer, score, message, policy, ticket_policy)


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
    )
    ref = tickets.label(opened.ticket.id)
    did = {Outcome.REOPENED: f"已重新打开工单 {ref}", Outcome.LINKED: f"已记入工单 {ref}"}.get(
        opened.outcome, f"已开工单 {ref}"
    )
    name = quote_customer_text(customer.name, 40).strip("「」") or f"客户{customer.id}"
    alert = Alert(
        title=f"客户低分：{survey.kind.upper()} {score}/{scale}",
        body=f"客户：{name}（{trigger}评价）· {did}，负责人：{opened.ticket.assignee_userid or '待分配'}",
        customer_text=message.text,
    )
    owner = await _owner(session, customer)
    recipients = list(dict.fromkeys(u for u in (owner, *policy.managers, *ticket_policy.managers) if u))
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
    return Answered(survey, score, True, opened.ticket, opened.outcome, tuple(recipients))


# ---- statistics --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Surveys in [start, end): asked (by asked_at) and how many of those were answered; scores by answered_at."""

    start: datetime
    end: datetime
    asked: int
    answered: int
    expired: int
    response_rate: float | None
    csat_count: int
    csat_average: float | None
    csat_distribution: dict[int, int]
    nps_count: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    low_scores: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "asked": self.asked,
            "answered": self.answered,
            "expired": self.expired,
            "response_rate": self.response_rate,
            "csat": {
                "count": self.csat_count,
                "average": self.csat_average,
                "distribution": {str(k): v for k, v in self.csat_distribution.items()},
            },
            "nps": {
                "count": self.nps_count,
                "promoters": self.promoters,
                "passives": self.passives,
                "detractors": self.detractors,
                "score": self.nps,
            },
            "low_scores": self.low_scores,
        }


async def score_stats(session: AsyncSession, start: datetime, end: datetime) -> ScoreStats:
    asked_rows = (
        await session.execute(select(Survey.status).where(Survey.asked_at >= start, Survey.asked_at < end))
    ).scalars()
    statuses = list(asked_rows)
    answered_rows = (
        await session.execute(
            select(Survey.kind, Survey.score).where(
                Survey.status == SurveyStatus.ANSWERED, Survey.answered_at >= start, Survey.answered_at < end
            )
        )
    ).all()
    csat = [int(s) for k, s in answered_rows if k == SurveyKind.CSAT and s is not None]
    nps = [int(s) for k, s in answered_rows if k == SurveyKind.NPS and s is not None]
    promoters = sum(1 for s in nps if s >= 9)
    detractors = sum(1 for s in nps if s <= NPS_LOW)
    answered = sum(1 for s in statuses if s == SurveyStatus.ANSWERED)
    return ScoreStats(
        start=start,
        end=end,
        asked=len(statuses),
        answered=answered,
        expired=sum(1 for s in statuses if s == SurveyStatus.EXPIRED),
        response_rate=round(answered / len(statuses), 4) if statuses else None,
        csat_count=len(csat),
        csat_average=round(sum(csat) / len(csat), 2) if csat else None,
        csat_distribution={score: csat.count(score) for score in range(1, 6)},
        nps_count=len(nps),
        promoters=promoters,
        passives=len(nps) - promoters - detractors,
        detractors=detractors,
        nps=round(100 * (promoters - detractors) / len(nps), 1) if nps else None,
        low_scores=sum(1 for s in csat if s <= CSAT_LOW) + detractors,
    )


async def answered_by(session: AsyncSession, message_ids: Sequence[int]) -> set[int]:
    """Which of these messages answered a survey (the complaint detector leaves those alone)."""
    if not message_ids:
        return set()
    stmt = select(Survey.answer_message_id).where(Survey.answer_message_id.in_(sorted(set(message_ids))))
    return {int(m) for m in (await session.execute(stmt)).scalars() if m is not None}


async def survey_job(sessions: async_sessionmaker[AsyncSession], clock: Clock, policy: SurveyPolicy) -> tuple[int, int]:
    """The scheduled job body: expire surveys past 48 h, then ask after purchases; (expired, asked)."""
    async with sessions() as session, session.begin():
        expired = await expire_pending(session, clock.now())
    async with sessions() as session, session.begin():
        asked = await ask_after_purchases(session, clock.now(), policy)
    return expired, asked
