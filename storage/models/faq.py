"""FAQ tables (issue 6): the knowledge base, the answers given, and the questions still waiting for an answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class QuestionOrigin(StrEnum):
    IMPORT = "import"  # from a KB file
    VARIANT = "variant"  # taught with `faq add-variant`
    PROMOTED = "promoted"  # an unanswered question a manager promoted


class KbEntry(Base):
    """One answer and the tags that describe it; its question variants are in `kb_questions`."""

    __tablename__ = "kb_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KbQuestion(Base):
    """One way customers ask for an entry."""

    __tablename__ = "kb_questions"
    __table_args__ = (UniqueConstraint("entry_id", "text", name="uq_kb_questions_entry_text"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    origin: Mapped[str] = mapped_column(String(16), default=QuestionOrigin.IMPORT)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KbRevision(Base):
    """A single row counting KB changes: every process rebuilds its matcher when the number moves (no restart)."""

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FaqDecision(StrEnum):
    ANSWERED = "answered"  # the bot answered the customer itself (kf, OA)
    SUGGESTED = "suggested"  # a rep got a suggested reply (group, or a score between the thresholds)
    TASK = "task"  # a one-group add_msg_template task for the rep to confirm
    HANDOFF = "handoff"  # handed to a person
    SILENT = "silent"  # chit-chat or too unsure


class FaqReply(Base):
    """What the bot did about one customer question: the record behind "not answered twice within the window"."""

    __tablename__ = "faq_replies"
    __table_args__ = (Index("ix_faq_replies_customer_entry", "customer_id", "entry_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    entry_id: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    member_userid: Mapped[str | None] = mapped_column(String(64))  # who got the suggestion or the hand-off
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnansweredStatus(StrEnum):
    OPEN = "open"
    PROMOTED = "promoted"  # became a KB entry
    TAUGHT = "taught"  # added as a variant of an existing entry
    DISMISSED = "dismissed"


class UnansweredGroup(Base):
    """Similar questions the bot could not answer confidently, counted together."""

    __tablename__ = "unanswered_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(500))  # the first (representative) question
    normalized: Mapped[str] = mapped_column(String(500), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    best_entry_id: Mapped[str | None] = mapped_column(String(64))
    best_score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default=UnansweredStatus.OPEN, index=True)
    entry_id: Mapped[str | None] = mapped_column(String(64))  # the entry it was promoted to or taught
    first_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnansweredQuestion(Base):
    """One question the bot did not answer confidently, with who asked where, its best guess and score."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("unanswered_groups.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    best_entry_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    decision: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, object]] = mapped_column(JsonColumn, default=dict)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GroupFaqMode(StrEnum):
    SUGGEST = "suggest"  # a private suggested reply to the owner rep (default)
    GROUP_SEND_TASK = "group_send_task"  # a one-group add_msg_template task the rep confirms
    OFF = "off"


class GroupFaqSetting(Base):
    """A manager's choice of how the FAQ helps in one customer group."""

    __tablename__ = "group_faq_settings"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(24), default=GroupFaqMode.SUGGEST)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OaHoldRelease(StrEnum):
    TICKET_SOLVED = "ticket_solved"
    TICKET_CLOSED = "ticket_closed"
    IDLE = "idle"  # no message from the follower for faq.oa_handoff_release_hours


class OaPersonHold(Base):
    """An OA follower handed to a person (services/faq/oa_person.py): while live (released_at is NULL) the FAQ stays
    out of their chat; released when the hand-off ticket is solved or closed, or after an idle time."""

    __tablename__ = "oa_person_holds"
    __table_args__ = (
        # One live hold per follower's chat, and the lookup every OA message makes.
        Index(
            "uq_oa_person_holds_live_chat",
            "chat_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
            sqlite_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(String(160))
    openid: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(BigId)  # the follower's message that was handed off
    rep: Mapped[str | None] = mapped_column(String(64))  # the owner or on-duty rep; None: only managers heard
    alerted: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    held_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the follower's latest message while held
    held_messages: Mapped[int] = mapped_column(Integer, default=0)  # messages the FAQ left to a person
    last_alert_at: Mapped[datetime] = mapped_column(UtcDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    release_reason: Mapped[str | None] = mapped_column(String(16))
