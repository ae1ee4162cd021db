"""What the FAQ's use case takes and gives: a customer's question, the policy it is handled under, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.faq.budget import Budgets
from services.faq.handoff import Handoff
from services.faq.oa_person import HoldPolicy
from services.faq.unanswered import Grouping


@dataclass(frozen=True, slots=True)
class Question:
    message_id: int
    customer_id: int | None
    channel: str  # kf | archive | oa
    chat_type: str  # kf | group | single | oa
    chat_id: str
    text: str
    asked_at: datetime
    external_userid: str = ""
    openid: str = ""
    member_userid: str | None = None  # the rep in a 1:1 archive chat


@dataclass(frozen=True, slots=True)
class Policy:
    repeat_window: timedelta = timedelta(minutes=30)
    handoff: Handoff = field(default_factory=Handoff)
    budgets: Budgets = field(default_factory=Budgets)
    grouping: Grouping = field(default_factory=Grouping)
    contact_line: str = "如需人工服务，请回复“人工”"
    menus: bool = True  # kf and the OA: a "did you mean" menu in the suggest band (services/faq/menus.py)
    hold: HoldPolicy = field(default_factory=HoldPolicy)  # the OA's "with a person" state (oa_person.py)


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: str | None  # a FaqDecision, or None when the message was not a question for the FAQ
    reason: str
    entry_id: str | None = None
    confidence: float = 0.0
    member_userid: str | None = None
    outbox_id: int | None = None
    alerted: tuple[str, ...] = ()  # a hand-off: who hears about it
