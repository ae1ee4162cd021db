"""Customers and members: profiles, follow relationships, tags, lifecycle entries and profile merges."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


class FollowStatus(StrEnum):
    ACTIVE = "active"
    DELETED_BY_MEMBER = "deleted_by_member"
    DELETED_BY_CUSTOMER = "deleted_by_customer"
    ENDED = "ended"  # gone from the directory without an event saying who ended it


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
    __table_args__ = (
        # A segment preview counts live customers per owner from the index alone.
        Index(
            "ix_customers_live_owner",
            "owner_userid",
            "id",
            postgresql_where=text("merged_into_id IS NULL"),
            sqlite_where=text("merged_into_id IS NULL"),
        ),
        # Live customers in id order with their owner, from the index alone: a segment filter's semi/anti joins on
        # customer_id then merge against the tag and message indexes instead of hashing the whole tables.
        Index(
            "ix_customers_live_id_owner",
            "id",
            "owner_userid",
            postgresql_where=text("merged_into_id IS NULL"),
            sqlite_where=text("merged_into_id IS NULL"),
        ),
    )

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
    # A tag's customers in id order (segments, campaign batches), without reading the rows.
    __table_args__ = (Index("ix_customer_tags_name_customer", "tag_name", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_name: Mapped[str] = mapped_column(String(128), default="")
    group_name: Mapped[str] = mapped_column(String(128), default="")


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
