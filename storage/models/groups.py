"""Customer groups and their current members."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UtcDateTime


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


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
