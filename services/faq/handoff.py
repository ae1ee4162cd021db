"""Handing a kf customer to a person: who takes them, the service_state/trans call, a notice and the rep's alert."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq import notify
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_trans
from services.tickets.opening import TicketPolicy, TicketRequest, open_or_link
from services.tickets.text import label
from storage.models.tickets import Ticket, TicketSource

HANDOFF_WORDS: Final = ("人工", "转人工", "人工客服", "真人", "投诉")
# What a customer is told when nobody can take the session now: the truth, and when a person will answer.
QUEUED_NOTICE: Final = (
    "您的人工服务请求已收到。目前暂时没有客服可以接待，已为您排队，我们会在工作时间内尽快回复您，请留意消息。"
)
WEEKDAYS: Final = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# Greetings, politeness and the ways of asking ("能转人工吗", "帮我找个人工", "人工客服在吗") that carry no question of
# their own; longest first so "我要" goes before "要". Anything else left over ("费多少钱") makes it a question.
_FILLER: Final = re.compile(
    r"[\s\W_]|你好|您好|哈喽|哈啰|hello|hi|在吗|在不在|有没有|请问|麻烦|帮忙|帮我|给我|我要|我想|想要|需要|可以|"
    r"能不能|一下|服务|谢谢|请|要|想|找|转|接|个|能|吗|呢|啊|吧|呀|嘛|喂|嗨|有|在|您|你|了",
    re.IGNORECASE,
)
_MAX_REQUEST_CHARS: Final = 16  # letters and digits only: punctuation and spaces do not make it a long message
_COMPLAINT_WORDS: Final = frozenset({"投诉"})
_SENTENCE_BREAK: Final = re.compile(r"[，,。.！!？?；;\n]+")
SUBJECT_WORDS_CHARS: Final = 60  # of the customer's words in a hand-off ticket's subject: a line in the 工单 list


@dataclass(frozen=True, slots=True)
class Handoff:
    words: tuple[str, ...] = HANDOFF_WORDS
    after_misses: int = 2  # consecutive questions not answered confidently; 0 turns it off
    on_duty: tuple[str, ...] = ()
    notice: str = "正在为您转接人工客服…"
    timezone: str = "Asia/Shanghai"
    # Every hand-off opens (or joins) a ticket, so the request is tracked until someone solves it.
    tickets: TicketPolicy | None = None
    # With no owner and nobody on duty the session waits in the kf pool: the customer hears `queued_notice` and
    # the managers are alerted (with no managers either, only the log, the metric and /healthz say so).
    managers: tuple[str, ...] = ()
    queued_notice: str = QUEUED_NOTICE


@dataclass(frozen=True, slots=True)
class HandedOff:
    servicer: str | None  # None: queued in the pool with nobody to take it
    trans_id: int
    alerted: tuple[str, ...]  # who will hear about it once WeCom has accepted the hand-off


def queued_notice(days: Sequence[int], start: str, end: str) -> str:
    """The customer's notice for a queued hand-off, naming the business hours ("周一至周五 09:00-18:00")."""
    ordered = sorted(set(days))
    if not ordered:
        return QUEUED_NOTICE
    contiguous = ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2
    names = [WEEKDAYS[d - 1] for d in ordered]
    when = f"{names[0]}至{names[-1]}" if contiguous else "、".join(names)
    return QUEUED_NOTICE.replace("工作时间内", f"工作时间（{when} {start}-{end}）内")


def is_handoff_request(text: str, words: Sequence[str] = HANDOFF_WORDS) -> bool:
    """A short request for a person ("人工", "你好，我要转人工", "能转人工吗"), not a message that mentions one; also
    such a request as a sentence of its own beside a complaint ("订单一直没发货，找人工").

    What is left of the message, or of one of its sentences, after removing the keyword and polite filler must be
    nothing, so "人工智能课程怎么报名" and "投诉电话是多少，快递还没到" are questions, not hand-offs.
    """
    if _is_request(text, words):
        return True
    # A complaint told with its details ("我要投诉，快递三天没动了") is the complaint flow's (a ticket for the owner,
    # handlers/tickets), not a hand-off: only a sentence asking for a person hands off beside other sentences.
    asks_for_person = [w for w in words if w not in _COMPLAINT_WORDS]
    return any(_is_request(part, asks_for_person) for part in _SENTENCE_BREAK.split(text))


def _is_request(text: str, words: Sequence[str]) -> bool:
    compact = re.sub(r"[\s\W_]+", "", text)
    if not compact or len(compact) > _MAX_REQUEST_CHARS:
        return False
    for word in sorted(words, key=len, reverse=True):
        if word in compact and not _FILLER.sub("", compact.replace(word, "")):
            return True
    return False


def handoff_subject(why: str, words: str = "", handoff_words: Sequence[str] = HANDOFF_WORDS) -> str:
    """A hand-off ticket's subject: the customer's own words, then why, when they say more than "find me a person".

    "订单一直没发货，找人工（客户要求人工服务）" tells a rep scanning the 工单 list what it is about, words first
    because lists cut long subjects and already show the source (转人工); "转人工：客户要求人工服务", which a bare
    "人工" gets, does not. Words past SUBJECT_WORDS_CHARS are cut.
    """
    said = " ".join(words.split())
    if not said or _is_request(said, handoff_words):
        return f"转人工：{why}"
    if len(said) > SUBJECT_WORDS_CHARS:
        said = said[: SUBJECT_WORDS_CHARS - 1] + "…"
    return f"{said}（{why}）"


def choose_servicer(owner: str | None, customer_id: int | None, on_duty: Sequence[str]) -> str | None:
    """The owner rep when there is one, else an on-duty rep (spread over customers, the same one for a customer)."""
    if owner:
        return owner
    if not on_duty:
        return None
    return on_duty[(customer_id or 0) % len(on_duty)]


async def hand_off(
    session: AsyncSession,
    message_id: int,
    open_kfid: str,
    external_userid: str,
    customer_id: int | None,
    owner: str | None,
    why: str,
    policy: Handoff,
    now: datetime,
    words: str = "",
) -> HandedOff:
    """Queue the trans (to a person, or to the pool when nobody can take it) with the customer's notice, and a
    ticket (its subject quotes `words`, what the customer asked). Who is alerted rides on the trans: they hear what
    really happened once WeCom answers it."""
    servicer = choose_servicer(owner, customer_id, policy.on_duty)
    ticket = await handoff_ticket(session, message_id, open_kfid, customer_id, servicer, why, policy, now, words=words)
    alerted = (servicer,) if servicer else policy.managers
    alert = notify.HandoffAlert(
        to=alerted,
        why=why,
        customer_id=customer_id,
        zone=policy.timezone,
        key=f"faq-handoff-alert:{message_id}",
        ticket=label(ticket.id) if ticket is not None else "",
    )
    notice = Text(policy.notice if servicer else policy.queued_notice)
    trans_id = await queue_kf_trans(
        session,
        now,
        open_kfid,
        external_userid,
        servicer or "",
        notice=notice,
        alert=alert.to_payload(),
        key=f"faq-handoff:{message_id}",
    )
    return HandedOff(servicer, trans_id, alerted)


async def handoff_ticket(
    session: AsyncSession,
    message_id: int,
    chat_id: str,
    customer_id: int | None,
    servicer: str | None,
    why: str,
    policy: Handoff,
    now: datetime,
    channel: str = "kf",
    words: str = "",
) -> Ticket | None:
    """The ticket a hand-off opens (or joins) in `chat_id` (a kf account, or an OA follower's chat); its subject
    quotes `words`, what the customer asked (handoff_subject)."""
    if policy.tickets is None or customer_id is None:
        return None
    opened = await open_or_link(
        session,
        now,
        TicketRequest(
            customer_id=customer_id,
            subject=handoff_subject(why, words, policy.words),
            source=TicketSource.HANDOFF,
            channel=channel,
            chat_id=chat_id,
            assignee=servicer,
            source_key=f"handoff:{message_id}",
            message_ids=[message_id],
            policy=policy.tickets,
            tell_assignee=False,
        ),
    )
    return opened.ticket
