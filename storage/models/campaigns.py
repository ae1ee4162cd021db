"""Campaign-side tables: RFM, segments, attributes, contact preferences, campaigns, their runs and sends."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JsonColumn, UtcDateTime


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


class CampaignStatus(StrEnum):
    ACTIVE = "active"  # fires at its times
    PAUSED = "paused"  # fires nothing until resumed; a run in progress stops at its next batch
    CANCELLED = "cancelled"
    FINISHED = "finished"  # a one-off broadcast after its run


class Campaign(Base):
    """A campaign as the manager defined it (validated document) and where it stands."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # broadcast | recurring | automation
    path: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.ACTIVE, index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RunStatus(StrEnum):
    SELECTING = "selecting"  # the audience is being walked in batches
    DISPATCHING = "dispatching"  # sends are being turned into outbox rows and mass tasks
    DONE = "done"
    STOPPED = "stopped"  # the campaign was paused or cancelled mid-run


class CampaignRun(Base):
    """One firing of a campaign: UNIQUE per scheduled time, so a double firing or a restart never runs it twice."""

    __tablename__ = "campaign_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "scheduled_for", name="uq_campaign_runs_firing"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.SELECTING, index=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)  # the last customer id walked (keyset)
    # Quiet hours and holidays defer the dispatch, never drop it; opt-outs are checked again at dispatch.
    dispatch_after: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str] = mapped_column(Text, default="")


class CampaignAudience(Base):
    """A run's audience drawn once when its walk starts: the keyset batches walk this, not the filter again.

    Kept only while the run is selecting (the last batch deletes it), so it never grows with the number of runs.
    """

    __tablename__ = "campaign_audience"

    # No foreign keys: a scratch list written 100,000 rows at a time, where PostgreSQL's per-row FK trigger was half
    # the cost of the draw; the run's walk deletes it when it ends (done, cancelled or broken).
    run_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class SendOutcome(StrEnum):
    SELECTED = "selected"  # passed every guard; waiting to be dispatched
    HELD_OUT = "held_out"  # deliberately not sent, to measure lift
    SKIPPED = "skipped"  # `reason` says which guard
    QUEUED = "queued"  # an outbox row (kf, OA, member reminder)
    TASK = "task"  # in a mass task the owner rep must confirm


class CampaignSend(Base):
    """One customer in one run: what happened to them (UNIQUE run + customer) and what they did after."""

    __tablename__ = "campaign_sends"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id", name="uq_campaign_sends_run_customer"),
        Index("ix_campaign_sends_customer_time", "customer_id", "created_at"),
        Index("ix_campaign_sends_run_outcome", "run_id", "outcome", "owner_userid"),
        # What reached each customer lately (dedupe, frequency cap): sent rows only, never a run's selected ones.
        Index(
            "ix_campaign_sends_sent",
            "customer_id",
            "created_at",
            "campaign_id",
            postgresql_where=text("outcome IN ('queued', 'task')"),
            sqlite_where=text("outcome IN ('queued', 'task')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner_userid: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    mass_task_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    converted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FollowupStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Followup(Base):
    """A rep's reminder to follow up a customer (F<id>): by hand, from an automation, a ticket or a churn warning."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_member_status_due", "member_userid", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    member_userid: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | campaign | ticket | churn
    status: Mapped[str] = mapped_column(String(16), default=FollowupStatus.OPEN)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_by: Mapped[str] = mapped_column(String(64), default="")
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # an automation creates it once
