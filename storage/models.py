"""Core tables (DESIGN.md §4): contacts, groups, the customer timeline and the durable inbox."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.models.base import JsonColumn
from storage.models.base import UtcDateTime

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class InboxStatus(StrEnum):
    NEW = "new"
    DONE = "done"
    FAILED = "failed"


class FollowStatus(StrEnum):
    ACTIVE = "active"
    DELETED_BY_MEMBER = "deleted_by_member"
    DELETED_BY_CUSTOMER = "deleted_by_customer"
    ENDED = "ended"  # gone from the directory without an event saying who ended it


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


class Member(Base):
    """A WeCom member (rep, service staff, manager)."""

    __tablename__ = "members"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    position: Mapped[str] = mapped_column(String(128), default="")
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Customer(Base):
    """One person, across every channel; later issues add RFM, scores, opt-out and erasure columns."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    avatar: Mapped[str] = mapped_column(String(512), default="")
    corp_name: Mapped[str] = mapped_column(String(128), default="")
    contact_type: Mapped[int] = mapped_column(Integer, default=1)  # 1 WeChat, 2 WeCom
    gender: Mapped[int] = mapped_column(Integer, default=0)
    owner_userid: Mapped[str | None] = mapped_column(String(64), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    became_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lost_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The Official Account follower this person is (linked by unionid, or by a manager's merge).
    oa_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when a manager (or a shared unionid) merged this profile into another; reversible, nothing is moved.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)


class CustomerFollow(Base):
    """The relationship between a customer and one member who has them as a contact."""

    __tablename__ = "customer_follows"
    __table_args__ = (UniqueConstraint("customer_id", "userid", name="uq_customer_follows_customer_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64), index=True)
    remark: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(String(512), default="")
    state: Mapped[str] = mapped_column(String(64), default="")
    add_way: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(32), default=FollowStatus.ACTIVE)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CustomerTag(Base):
    """A corp tag one member put on a customer (WeCom tags are per follow relationship)."""

    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_name: Mapped[str] = mapped_column(String(128), default="", index=True)
    group_name: Mapped[str] = mapped_column(String(128), default="")


class Group(Base):
    """A customer group (客户群)."""

    __tablename__ = "groups"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    owner_userid: Mapped[str] = mapped_column(String(64), default="", index=True)
    notice: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.ACTIVE)
    member_version: Mapped[str] = mapped_column(String(64), default="")
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class GroupMember(Base):
    """A current member of a customer group: a WeCom member (type 1) or a customer (type 2)."""

    __tablename__ = "group_members"

    chat_id: Mapped[str] = mapped_column(ForeignKey("groups.chat_id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_type: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    group_nickname: Mapped[str] = mapped_column(String(128), default="")
    join_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    join_scene: Mapped[int] = mapped_column(Integer, default=0)
    invitor_userid: Mapped[str] = mapped_column(String(64), default="")


class CustomerEvent(Base):
    """A lifecycle entry on a customer's timeline (added a rep, joined a group, ...)."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer_time", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    member_userid: Mapped[str | None] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    # Where the fact came from; UNIQUE so a replayed inbound event cannot write it twice.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)


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


class CustomerMerge(Base):
    """A merge of one customer profile into another; undoing it sets `undone_at` (the history stays)."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # "manual" or "unionid"
    actor: Mapped[str] = mapped_column(String(64), default="")
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# ---- The outbox, its quotas and the mass-task funnel (issue 5) ---------------------------------------------------


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
