"""Settings of the scheduled customer work: churn warning, RFM scoring, campaigns and follow-up reminders."""

from __future__ import annotations

import re
from datetime import time

from pydantic import Field, field_validator

from bot.config.base import Section, clock_time


class ChurnWeights(Section):
    """How much each signal alone, at full strength, says about the risk (0..1); combined as a noisy-OR."""

    activity: float = Field(default=0.6, ge=0, le=1)
    purchase: float = Field(default=0.6, ge=0, le=1)
    score: float = Field(default=0.7, ge=0, le=1)
    tickets: float = Field(default=0.5, ge=0, le=1)
    negative: float = Field(default=0.4, ge=0, le=1)
    groups: float = Field(default=0.5, ge=0, le=1)


class ChurnSettings(Section):
    """The daily churn early warning (issue 7 §4); docs/CHURN.md explains every knob."""

    enabled: bool = True
    run_at: str = "03:30"  # HH:MM in `timezone`
    threshold: float = Field(default=0.5, gt=0, le=1)
    # A customer over the threshold must fall below (threshold - rearm_margin) before a new crossing alerts again.
    rearm_margin: float = Field(default=0.1, ge=0, lt=1)
    recent_days: int = Field(default=30, ge=1)
    baseline_days: int = Field(default=90, ge=1)
    # The earlier months that tell a quiet month is this customer's normal rhythm (seasonal customers).
    history_days: int = Field(default=360, ge=1)
    activity_min_baseline: float = Field(default=3.0, ge=0)  # messages per recent_days before a drop can count
    activity_min_drop: float = Field(default=0.5, ge=0, le=1)
    activity_quiet_share: float = Field(default=0.25, ge=0, le=1)
    purchase_min_count: int = Field(default=3, ge=2)
    purchase_cycle_factor: float = Field(default=1.5, ge=1)
    score_max_age_days: int = Field(default=180, ge=1)
    csat_low: int = Field(default=2, ge=1, le=5)
    nps_low: int = Field(default=6, ge=0, le=10)
    chunk_size: int = Field(default=2000, ge=1, le=20_000)
    max_reasons: int = Field(default=3, ge=1)
    weights: ChurnWeights = ChurnWeights()

    @field_validator("run_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("expected HH:MM, e.g. 03:30")
        return value

    def run_time(self) -> time:
        hour, minute = self.run_at.split(":")
        return time(int(hour), int(minute))


class RfmSettings(Section):
    """The daily RFM scoring (campaigns/rfm.py): tiers for segments, the profile and reports."""

    enabled: bool = True
    run_at: time = time(4)  # "HH:MM" in `timezone`
    window_days: int = Field(default=365, ge=1, le=3650)  # F and M count purchases in this window

    _times = field_validator("run_at", mode="before")(clock_time)


class QuietHours(Section):
    start: time = time(21)
    end: time = time(9)

    _times = field_validator("start", "end", mode="before")(clock_time)


class CampaignSettings(Section):
    """Campaign runs (campaigns/, docs/CAMPAIGNS.md): guards that hold across every campaign and path."""

    tick_s: float = Field(default=30, gt=0, le=3600)  # how often due firings start and live runs move on
    quiet_hours: QuietHours = QuietHours()
    frequency_cap: int = Field(default=2, ge=1, le=100)  # marketing messages per customer ...
    frequency_days: int = Field(default=7, ge=1, le=90)  # ... in this many days, across campaigns and paths
    batch_size: int = Field(default=5000, ge=10, le=20_000)  # customers per committed batch of a run
    optout_words: list[str] = Field(default=["退订", "TD", "取消订阅"])
    optin_words: list[str] = Field(default=["订阅"])
    # A short message refusing marketing in words ("以后别给我发广告了", "不要再推送了") opts out like 退订.
    optout_sentences: bool = True


class FollowupSettings(Section):
    """Rep follow-up reminders (services/service/followups.py): a reminder when due, a workday morning digest."""

    tick_s: float = Field(default=60, gt=0, le=3600)  # how often due follow-ups are looked for
    digest_at: time = time(9)  # "HH:MM" in `timezone`, on workdays (service.business_hours and holidays)

    _times = field_validator("digest_at", mode="before")(clock_time)
