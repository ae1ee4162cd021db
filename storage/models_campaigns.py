"""Campaign-side tables: RFM scores, saved segments, customer attributes and contact preferences (opt-out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId
from storage.types import JsonColumn, UtcDateTime


class RfmScore(Base):
    """One customer's latest RFM reading: raw recency/frequency/monetary, quintile scores 1-5 and the tier."""

    __tablename__ = "rfm_scores"
    __table_args__ = (Index("ix_rfm_scores_tier", "tier"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    recency_days: Mapped[int | None] = mapped_column(Integer)  # None: never bought
    frequency: Mapped[int] = mapped_column(Integer, default=0)  # purchases in the window
    monetary_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    r_score: Mapped[int] = mapped_column(Integer, default=0)  # 0 for customers without a purchase
    f_score: Mapped[int] = mapped_column(Integer, default=0)
    m_score: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Segment(Base):
    """A saved audience: a validated filter document (DESIGN §11) evaluated on demand."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(String(512), default="")
    filter: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustomerAttribute(Base):
    """An operator-defined fact about a customer (birthday, renewal date, membership level...), as text."""

    __tablename__ = "customer_attributes"
    __table_args__ = (Index("ix_customer_attributes_name_value", "name", "value"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), default="")  # dates as YYYY-MM-DD, so text order is date order
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ContactPref(Base):
    """Whether a customer accepts marketing: "退订" sets opted_out_at, "订阅" sets opted_in_at and clears it."""

    __tablename__ = "contact_prefs"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    opted_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(32), default="")
