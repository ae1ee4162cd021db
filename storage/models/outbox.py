"""Delivery: the outbox, shared quota state (send stamps, call counters, API pauses) and send windows."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Final

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    DEFERRED = "deferred"  # a quota forbids it now; `not_before` is when it frees and `reason` says which
    SENDING = "sending"  # claimed under a lease; after the lease its outcome is unknown until resolved
    SENT = "sent"
    FAILED = "failed"  # it never could, or retries ran out; `reason` says why
    UNKNOWN = "unknown"  # sent or not, nobody can tell and resending could duplicate it (OA); see the CLI
    CANCELLED = "cancelled"


class OutboxKind(StrEnum):
    APP_MESSAGE = "app_message"  # message/send to members: alerts
    KF_MESSAGE = "kf_message"  # kf/send_msg: replies in a kf session
    KF_EVENT_MESSAGE = "kf_event_message"  # kf/send_msg_on_event: welcome or session-end message on a code
    OA_MESSAGE = "oa_message"  # Official Account customer-service message
    MASS_TASK = "mass_task"  # add_msg_template: a task a member confirms
    MASS_POLL = "mass_poll"  # get_groupmsg_task: has the member confirmed?
    MASS_RESULTS = "mass_results"  # get_groupmsg_send_result: one page of per-target results
    MASS_REMIND = "mass_remind"  # remind_groupmsg_send
    MASS_CANCEL = "mass_cancel"  # cancel_groupmsg_send
    KF_TRANS = "kf_trans"  # kf/service_state/trans: hand a kf session to a person (no customer message, no quota)
    MARK_TAG = "mark_tag"  # externalcontact/mark_tag: add or remove a customer's corp tags (as their owner rep)
    WELCOME_MESSAGE = "welcome_message"  # externalcontact/send_welcome_msg: on a WelcomeCode, within 20 s
    OA_TEMPLATE = "oa_template"  # OA template message: no window needed, the user must follow the account


class Priority(IntEnum):
    """Lower goes first: replies and alerts before task follow-ups before campaigns."""

    HIGH = 10
    NORMAL = 50
    LOW = 90


class Outbox(Base):
    """One message or WeCom call to make; written in the transaction of the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Only live rows carry due_at, so the claim scans queued, deferred and leased rows, never history.
        Index(
            "ix_outbox_due",
            "priority",
            "due_at",
            "id",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index("ix_outbox_kind_recipient", "kind", "recipient", "status"),
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_content_key", "content_key", "first_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    api: Mapped[str] = mapped_column(String(96))
    recipient: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.HIGH)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when an attempt's outcome could not be known (a crash under lease, a timeout); cleared by an answer.
    unknown_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_key: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MemberSendStamp(Base):
    """One message/send to one member, for the 30/min and 1,000/h windows; `stamp` is the latest it can land."""

    __tablename__ = "member_send_stamps"
    __table_args__ = (Index("ix_member_send_stamps_user_stamp", "userid", "stamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    userid: Mapped[str] = mapped_column(String(64))
    stamp: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int] = mapped_column(BigInteger, index=True)


class RateCounter(Base):
    """Calls per time bucket and scope (an API per second or per minute, or every call per second)."""

    __tablename__ = "rate_counters"

    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApiPause(Base):
    """An API that answered 45009/45033: no sender calls it before `until`."""

    __tablename__ = "api_pauses"

    api: Mapped[str] = mapped_column(String(96), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")


class KfWindow(Base):
    """A kf customer's send window: 5 messages within 48 h of their last message, in session state 0 or 1."""

    __tablename__ = "kf_windows"

    open_kfid: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sends_since: Mapped[int] = mapped_column(Integer, default=0)
    session_state: Mapped[int | None] = mapped_column(Integer)
    servicer_userid: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OaWindow(Base):
    """An OA follower's customer-service window, opened by their latest interaction.

    A message opens 5 sends within 48 h, a follow, menu click or scan 3 within a minute. How overlapping windows
    combine is UNCONFIRMED: the latest interaction decides, the stricter reading (a click after a message narrows).
    """

    __tablename__ = "oa_windows"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_kind: Mapped[str] = mapped_column(String(16))  # "message" or "action"
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sends: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# The API each kind calls (an OA path carries an "oa:" prefix); the sender pauses, counts and limits per API.
OUTBOX_API: Final[dict[str, str]] = {
    OutboxKind.APP_MESSAGE: "/cgi-bin/message/send",
    OutboxKind.KF_MESSAGE: "/cgi-bin/kf/send_msg",
    OutboxKind.KF_EVENT_MESSAGE: "/cgi-bin/kf/send_msg_on_event",
    OutboxKind.OA_MESSAGE: "oa:/cgi-bin/message/custom/send",
    OutboxKind.MASS_TASK: "/cgi-bin/externalcontact/add_msg_template",
    OutboxKind.MASS_POLL: "/cgi-bin/externalcontact/get_groupmsg_task",
    OutboxKind.MASS_RESULTS: "/cgi-bin/externalcontact/get_groupmsg_send_result",
    OutboxKind.MASS_REMIND: "/cgi-bin/externalcontact/remind_groupmsg_send",
    OutboxKind.MASS_CANCEL: "/cgi-bin/externalcontact/cancel_groupmsg_send",
    OutboxKind.KF_TRANS: "/cgi-bin/kf/service_state/trans",
    OutboxKind.MARK_TAG: "/cgi-bin/externalcontact/mark_tag",
    OutboxKind.WELCOME_MESSAGE: "/cgi-bin/externalcontact/send_welcome_msg",
    OutboxKind.OA_TEMPLATE: "oa:/cgi-bin/message/template/send",
}
