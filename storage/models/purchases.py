"""Purchases customers made, imported or recorded by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UtcDateTime


class Purchase(Base):
    """One purchase a customer made (imported or recorded by hand); RFM, churn and post-purchase surveys read it."""

    __tablename__ = "purchases"
    __table_args__ = (Index("ix_purchases_customer_time", "customer_id", "purchased_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(128), unique=True)  # the order number: imported once
    item: Mapped[str] = mapped_column(String(256), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    purchased_at: Mapped[datetime] = mapped_column(UtcDateTime())
