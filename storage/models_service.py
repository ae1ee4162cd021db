"""Service-loop tables (issue 7): waiting customers and response times, tickets, surveys, purchases, churn risk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId
from storage.types import JsonColumn, UtcDateTime


class WaitStatus(StrEnum):
    WAITING = "waiting"  # a customer asked and nobody has answered yet
    ANSWERED = "answered"  # a member (or the bot) answered; response time recorded
    CLOSED = "closed"  # no answer needed any more (the customer left, a ticket took it over, erased)


class ChatWait(Base):
    """One customer waiting in one chat, from their first unanswered question to the first answer.

    Answered rows are the response-time record: per rep and per chat, in business seconds and wall seconds.
    """

    __tablename__ = "chat_waits"
    __table_args__ = (
        Index("ix_chat_waits_chat_status", "chat_id", "status"),
        Index("ix_chat_waits_due", "next_check_at", postgresql_where=text("status = 'waiting'")),
        Index("ix_chat_waits_answered", "answered_at"),
        # At most one open wait per customer per chat.
        Index(
            "uq_chat_waits_open",
            "chat_id",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_type: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    owner_userid: Mapped[str | None] = mapped_column(String(64), index=True)  # who should answer
    first_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text, default="")
    policy: Mapped[str] = mapped_column(String(64), default="")  # the SLA policy's name
    waiting_since: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())  # first-response deadline (business hours applied)
    stage: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 rep warned, 2 manager, 3 next level...
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=WaitStatus.WAITING)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(64))  # member userid, or "bot"
    response_s: Mapped[float | None] = mapped_column(Float)  # wall-clock seconds
    business_response_s: Mapped[float | None] = mapped_column(Float)  # seconds inside business hours
    breached: Mapped[bool] = mapped_column(default=False)


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer or a third party
    SOLVED = "solved"
    CLOSED = "closed"


class TicketSource(StrEnum):
    HANDOFF = "handoff"
    LOW_SCORE = "low_score"
    COMPLAINT = "complaint"
    OVERDUE = "overdue"
    MANUAL = "manual"


class Ticket(Base):
    """A customer problem someone owns until it is solved; shown to reps as T<id>."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_due", "status", "resolve_due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(16), default="normal")  # low | normal | high | urgent
    source: Mapped[str] = mapped_column(String(16), default=TicketSource.MANUAL)
    assignee_userid: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="")
    chat_id: Mapped[str] = mapped_column(String(160), default="")
    policy: Mapped[str] = mapped_column(String(64), default="")
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolve_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_stage: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Idempotency for automatic openings ("handoff:<msgid>", "survey:<id>"): a replay opens nothing new.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class TicketEvent(Base):
    """The ticket's history: opened, claimed, status changes, reopenings, notes."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64), default="")  # member userid, "bot", or "cli"
    detail: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TicketMessage(Base):
    """A timeline message linked to a ticket."""

    __tablename__ = "ticket_messages"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)


class SurveyKind(StrEnum):
    CSAT = "csat"  # 1..5
    NPS = "nps"  # 0..10


class SurveyStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"


class Survey(Base):
    """One satisfaction question asked in a chat, and the answer read from the same chat."""

    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_customer_status", "customer_id", "status"),
        # One pending survey per customer: a second ask while one waits would make an answer ambiguous.
        Index(
            "uq_surveys_pending",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(32))  # ticket_solved | kf_session_end | purchase | manual
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), default=SurveyStatus.PENDING)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # the cause, asked once


class Purchase(Base):
    """One purchase a customer made (imported or recorded by hand); RFM, churn and post-purchase surveys read it."""

    __tablename__ = "purchases"
    __table_args__ = (Index("ix_purchases_customer_time", "customer_id", "purchased_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(128), unique=True)  # the order number: imported once
    item: Mapped[str] = mapped_column(String(256), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    purchased_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChurnScore(Base):
    """The latest churn risk of one customer, with its reasons in Chinese; `alerted_at` makes the alert once."""

    __tablename__ = "churn_scores"
    __table_args__ = (Index("ix_churn_scores_risk", "risk"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    reasons: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    features: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    at_risk: Mapped[bool] = mapped_column(default=False)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime())
    crossed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when it last went over the threshold
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CustomerScore(Base):
    """A customer's latest CSAT and NPS, shown on the profile; every answer stays in `surveys`."""

    __tablename__ = "customer_scores"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    csat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    nps: Mapped[int | None] = mapped_column(Integer)
    nps_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ServiceAlert(Base):
    """One alert or escalation the service loop sent, keyed so a tick never sends the same one twice."""

    __tablename__ = "service_alerts"
    __table_args__ = (UniqueConstraint("alert_key", name="uq_service_alerts_alert_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_key: Mapped[str] = mapped_column(String(200))  # e.g. "wait:12:stage1", "churn:7:2026-11-23"
    kind: Mapped[str] = mapped_column(String(32))  # sla_warning | sla_escalation | low_score | churn | ticket
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    member_userid: Mapped[str] = mapped_column(String(64))
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
