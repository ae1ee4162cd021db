"""The durable inbox, pull cursors and archive items that could not be read."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class InboxStatus(StrEnum):
    NEW = "new"
    DONE = "done"
    FAILED = "failed"


class InboundEvent(Base):
    """A decrypted callback, stored before WeCom gets its 200; drained by the ingest worker."""

    __tablename__ = "inbound_events"
    __table_args__ = (Index("ix_inbound_events_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(96))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")


class Cursor(Base):
    """Where a pull stopped (a kf account's next_cursor, the archive's seq); saved with the messages it produced."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ArchiveFailure(Base):
    """An archive item that could not be decrypted or read, with the reason; the puller moves on past it."""

    __tablename__ = "archive_failures"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    msgid: Mapped[str] = mapped_column(String(128), default="")
    publickey_ver: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
