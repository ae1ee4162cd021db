"""In-chat CSAT/NPS: the survey policy, where the bot can reach a customer, and asking (one pending per customer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers import identity
from services.outbox.messages import CustomerMessage, Menu, MenuItem, Text
from services.outbox.queue import queue_kf_event_message, queue_kf_reply, queue_oa_message
from services.service.alerts import Alert, alert_member, quote_customer_text
from services.surveys.parse import Kind, menu_id
from services.tickets.text import label
from storage.db import dialect_of
from storage.kf_state import BOT_MAY_SEND
from storage.models.customers import Customer
from storage.models.messages import KfSession
from storage.models.outbox import OaWindow
from storage.models.surveys import Survey, SurveyKind, SurveyStatus

KF_WINDOW: Final = timedelta(hours=48)
OA_MESSAGE_WINDOW: Final = timedelta(hours=48)
OA_ACTION_WINDOW: Final = timedelta(seconds=60)
KF_END_CODE_TTL: Final = timedelta(seconds=20)  # the session-end msg_code: 1 message within 20 s (WECOM.md §2d)
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
    """What surveys need from config (bot.policies builds it from Settings)."""

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
        KfSession.state.in_(BOT_MAY_SEND),
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
    solved = f"工单 {label(survey.ticket_id)} 已标记为已解决。\n" if survey.ticket_id is not None else ""
    alert = Alert(
        title="请邀请客户评分",
        body=(
            f"{solved}客户：{name}（{TRIGGER_TEXT.get(survey.trigger, '')}）\n"
            f"机器人无法在群聊或你的单聊里发言，请在与客户的单聊中请对方回复 {scale}；"
            f"客户的回复会自动记录，{int(policy.expire.total_seconds() // 3600)} 小时内有效。"
        ),
    )
    return (await alert_member(session, now, reach.rep, alert, key=key)).outbox_id


async def owner_rep(session: AsyncSession, customer: Customer) -> str | None:
    """The customer's owner rep, from the merged profile's root."""
    return (await identity.root_of(session, customer)).owner_userid
