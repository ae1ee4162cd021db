"""Mass tasks (add_msg_template) and their per-target funnel."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class MassTaskStatus(StrEnum):
    PENDING = "pending"  # queued in the outbox, not yet created in WeCom
    CREATED = "created"
    CONFIRMED = "confirmed"  # the member sent it
    CANCELLED = "cancelled"
    FAILED = "failed"


class MassTargetStatus(StrEnum):
    PENDING = "pending"  # the task is not created yet; nothing counted
    UNSENT = "unsent"  # in a created task; counted against the cap until it resolves
    SENT = "sent"
    NOT_FRIEND = "not_friend"
    OVER_LIMIT = "over_limit"  # WeCom's cap, or ours before the call
    FAILED = "failed"  # in WeCom's fail_list
    CANCELLED = "cancelled"


class MassTask(Base):
    """An add_msg_template task and its funnel: created -> confirmed by the member -> delivered per target."""

    __tablename__ = "mass_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), unique=True)
    msgid: Mapped[str | None] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    chat_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=MassTaskStatus.PENDING)
    text: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    remind_times: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    polls: Mapped[int] = mapped_column(Integer, default=0)


class MassTarget(Base):
    """One customer or group in a task; counted against its monthly cap while unsent or sent."""

    __tablename__ = "mass_targets"
    __table_args__ = (
        UniqueConstraint("task_id", "target_id", name="uq_mass_targets_task_target"),
        Index("ix_mass_targets_target_period", "target_id", "period", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("mass_tasks.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=MassTargetStatus.PENDING)
    send_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
