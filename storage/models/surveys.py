"""In-chat CSAT/NPS surveys and each customer's latest scores."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UtcDateTime


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


class CustomerScore(Base):
    """A customer's latest CSAT and NPS, shown on the profile; every answer stays in `surveys`."""

    __tablename__ = "customer_scores"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    csat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    nps: Mapped[int | None] = mapped_column(Integer)
    nps_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
