"""Tickets T<id>, their history and their linked messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


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
