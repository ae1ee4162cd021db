"""Settings of the outbox sender: pacing, leases, retries and every quota it enforces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.config.base import ConfigError, Section


class SenderSettings(Section):
    """The outbox sender: pacing, leases, retries and every quota it enforces before a call (WECOM.md §3)."""

    poll_interval_s: float = Field(default=0.25, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    concurrency: int = Field(default=16, ge=1)
    # Concurrent calls to one read API (get/list/sync) per process; WeCom answers 45033 past an unnamed number.
    read_concurrency: int = Field(default=8, ge=1)
    # A claimed row is ours until the lease ends; it must cover a reconcile call and the send (3 timeouts).
    lease_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    # A 45009/45033 answer pauses that API for every sender this long (with jitter).
    rate_limit_pause_s: float = Field(default=60.0, gt=0)
    api_per_minute: int = Field(default=10_000, ge=1)
    api_per_hour: int = Field(default=150_000, ge=1)
    # Qunke's own ceiling on calls per second across every API and process.
    global_per_second: int = Field(default=50, ge=1)
    # Share of the global rate that campaigns (low priority) may not take, so replies always find room.
    high_priority_reserve: float = Field(default=0.2, ge=0, lt=1)
    member_per_minute: int = Field(default=30, ge=1)
    member_per_hour: int = Field(default=1000, ge=1)
    # message/send person-times per natural day for the app: the corp's account cap x 200 (None: not enforced).
    app_daily_person_times: int | None = Field(default=None, ge=1)
    # Added to every sliding window: WeCom's clock is not ours and may stamp whole seconds.
    window_margin_s: float = Field(default=2.0, ge=0)
    duplicate_check_interval_s: int = Field(default=14_400, ge=1, le=14_400)
    kf_quota: int = Field(default=5, ge=1)
    kf_window_h: float = Field(default=48.0, gt=0)
    oa_message_quota: int = Field(default=5, ge=1)
    oa_message_window_h: float = Field(default=48.0, gt=0)
    oa_action_quota: int = Field(default=3, ge=1)
    oa_action_window_s: float = Field(default=60.0, gt=0)
    # WeCom's mass-send cap per customer or group: (days in the month) a month by default; an admin may switch
    # the corp to 7 a week or 1 a day.
    mass_cap_period: Literal["month", "week", "day"] = "month"
    mass_cap: int | None = Field(default=None, ge=1)
    mass_poll_interval_s: float = Field(default=60.0, gt=0)
    mass_poll_max_interval_s: float = Field(default=1800.0, gt=0)
    mass_track_days: float = Field(default=7.0, gt=0)
    mass_remind_after_h: float = Field(default=4.0, gt=0)
    mass_remind_per_day: int = Field(default=3, ge=0, le=3)
    # Share of a claim's batch that mass-task polls and result pages may take while other rows are due, so the polls
    # of a large run's unconfirmed tasks never keep its task creation (low priority) out of every batch.
    mass_poll_share: float = Field(default=0.25, gt=0, le=1)

    def check_lease(self, request_timeout_s: float) -> None:
        if self.lease_s < 3 * request_timeout_s:
            raise ConfigError(
                f"sender.lease_s ({self.lease_s}) must be at least 3 x wecom.request_timeout_s ({request_timeout_s}):"
                " a lease covers a reconcile call and the send"
            )
        if self.duplicate_check_interval_s < 2 * self.lease_s:
            raise ConfigError(
                f"sender.duplicate_check_interval_s ({self.duplicate_check_interval_s}) must cover two leases"
                f" ({2 * self.lease_s} s): a resend after a crash relies on it"
            )
