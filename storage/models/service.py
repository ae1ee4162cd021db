"""Service-loop tables (issue 7): waiting customers, the alerts the loop sent, and churn risk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


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


class ChurnScore(Base):
    """The latest churn risk of one customer, with its reasons in Chinese; `alerted_at` makes the alert once."""

    __tablename__ = "churn_scores"
    # Half of each page left free (migration 0010): the daily job rewrites every row, and PostgreSQL then updates
    # in place (HOT) without touching the indexes.
    __table_args__ = (Index("ix_churn_scores_risk", "risk"), {"postgresql_with": {"fillfactor": 50}})

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    reasons: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    features: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    at_risk: Mapped[bool] = mapped_column(default=False)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime())
    crossed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when it last went over the threshold
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
