"""Messages from every channel, and kf sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class Channel(StrEnum):
    KF = "kf"
    ARCHIVE = "archive"
    OA = "oa"


class ChatType(StrEnum):
    GROUP = "group"  # a customer group, read through the archive
    SINGLE = "single"  # a rep's own 1:1 chat with a customer, read through the archive
    KF = "kf"  # a 微信客服 chat with one customer
    OA = "oa"  # the Official Account conversation with one follower


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    MEMBER = "member"
    ROBOT = "robot"
    BOT = "bot"  # Qunke itself (kf API sends are not returned by sync_msg, so this comes from the outbox later)
    SYSTEM = "system"


class Message(Base):
    """One message from any channel, once (UNIQUE source key), on the chat and, when it has one, the customer."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_customer_time", "customer_id", "sent_at"),
        Index("ix_messages_chat_time", "chat_id", "sent_at"),
        # "Has the customer spoken since …" (segments' silent / active filters) answered from the index alone.
        Index(
            "ix_messages_customer_spoke",
            "customer_id",
            "sent_at",
            postgresql_where=text("sender_kind = 'customer'"),
            sqlite_where=text("sender_kind = 'customer'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # "<channel>:<msgid>": the channel's own id, so a replayed pull or callback stores the message once.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_type: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(160))
    sender_kind: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    member_userid: Mapped[str | None] = mapped_column(String(64), index=True)
    msgtype: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    # The channel's own body (media ids, file names, menu ids, unknown types verbatim).
    body: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class KfSession(Base):
    """A customer's 微信客服 session as last seen in sync_msg events (state 0-4, servicer)."""

    __tablename__ = "kf_sessions"

    open_kfid: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    state: Mapped[int] = mapped_column(Integer, default=0)
    servicer_userid: Mapped[str] = mapped_column(String(64), default="")
    last_customer_msg_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The last codes WeCom handed us for send_msg_on_event (welcome / session end), with when they arrived.
    event_code: Mapped[str] = mapped_column(String(128), default="")
    event_code_kind: Mapped[str] = mapped_column(String(16), default="")
    event_code_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
