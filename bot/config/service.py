"""Settings of customer service: business hours, holidays, SLA policies, tickets and surveys."""

from __future__ import annotations

from datetime import date, time
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from bot.config.base import Section, clock_time

_WEEKDAYS: Final = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


class BreakSettings(Section):
    start: time
    end: time

    _times = field_validator("start", "end", mode="before")(clock_time)


class BusinessHoursSettings(Section):
    """Working days (ISO numbers, Monday = 1, or mon..sun) and hours, in `timezone`; breaks are cut out."""

    days: tuple[int, ...] = (1, 2, 3, 4, 5)
    start: time = time(9)
    end: time = time(18)
    breaks: tuple[BreakSettings, ...] = ()

    _times = field_validator("start", "end", mode="before")(clock_time)

    @field_validator("days", mode="before")
    @classmethod
    def _day_numbers(cls, value: object) -> object:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("expected a non-empty list of weekdays (1-7 with Monday = 1, or mon..sun)")
        days = []
        for item in value:
            day = _WEEKDAYS.get(item.lower()) if isinstance(item, str) else item
            if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 7:
                raise ValueError(f"{item!r} is not a weekday (1-7 with Monday = 1, or mon..sun)")
            days.append(day)
        return tuple(sorted(set(days)))

    @model_validator(mode="after")
    def _hours_fit(self) -> BusinessHoursSettings:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start:%H:%M}) must be before end ({self.end:%H:%M})")
        previous_end = self.start
        for pause in sorted(self.breaks, key=lambda b: b.start):
            if not (previous_end <= pause.start < pause.end <= self.end):
                raise ValueError(
                    f"break {pause.start:%H:%M}-{pause.end:%H:%M} must lie inside {self.start:%H:%M}-{self.end:%H:%M},"
                    " start before it ends and not overlap another break"
                )
            previous_end = pause.end
        return self


_Date = date


class HolidaySettings(Section):
    """One date that overrides chinese_calendar: a holiday (not worked) or a workday (e.g. a make-up Saturday)."""

    date: _Date
    kind: Literal["holiday", "workday"]
    name: str = ""


class SlaMatchSettings(Section):
    # For now a customer's tier is a tag they carry (customer_tags.tag_name); churn/RFM tiers may feed it later.
    tier: str | None = None
    # Matches a customer carrying any of these tags.
    tags: tuple[str, ...] = ()


class SlaPolicySettings(Section):
    name: str = Field(min_length=1, max_length=64)
    match: SlaMatchSettings = SlaMatchSettings()
    first_response_min: float = Field(gt=0)
    resolution_h: float = Field(default=24.0, gt=0)
    warn_before_min: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _warn_inside_window(self) -> SlaPolicySettings:
        if self.warn_before_min >= self.first_response_min:
            raise ValueError(
                f"policy {self.name!r}: warn_before_min ({self.warn_before_min:g}) must be less than"
                f" first_response_min ({self.first_response_min:g})"
            )
        if self.resolution_h * 60 < self.first_response_min:
            raise ValueError(f"policy {self.name!r}: resolution_h must not be shorter than first_response_min")
        return self


DEFAULT_SLA_POLICIES: Final = (
    SlaPolicySettings(
        name="vip", match=SlaMatchSettings(tags=("VIP",)), first_response_min=5, resolution_h=24, warn_before_min=2
    ),
    SlaPolicySettings(name="default", first_response_min=30, resolution_h=24, warn_before_min=10),
)


class ServiceSettings(Section):
    """The service loop (issue 7): who is told when customers wait, and who takes over."""

    # Managers get escalations and low-score alerts; the first level of the escalation chain.
    managers: tuple[str, ...] = ()
    # Reps who take kf hand-offs and unowned customers when the owner rep is unknown.
    on_duty: tuple[str, ...] = ()
    business_hours: BusinessHoursSettings = BusinessHoursSettings()
    holidays: tuple[HolidaySettings, ...] = ()
    # First match wins; the last policy must match everyone (an empty `match`).
    sla_policies: tuple[SlaPolicySettings, ...] = DEFAULT_SLA_POLICIES
    # Levels after the managers (level 1): each a list of userids, reached `escalate_every_min` apart.
    escalation_levels: tuple[tuple[str, ...], ...] = ()
    escalate_every_min: float = Field(default=30.0, gt=0)
    tick_s: float = Field(default=30.0, ge=1)

    @field_validator("holidays")
    @classmethod
    def _one_entry_per_date(cls, value: tuple[HolidaySettings, ...]) -> tuple[HolidaySettings, ...]:
        seen: set[date] = set()
        for entry in value:
            if entry.date in seen:
                raise ValueError(f"{entry.date} is listed twice; keep one entry per date")
            seen.add(entry.date)
        return value

    @field_validator("sla_policies")
    @classmethod
    def _catch_all_last(cls, value: tuple[SlaPolicySettings, ...]) -> tuple[SlaPolicySettings, ...]:
        if not value:
            raise ValueError("expected at least one policy; the last one with an empty match applies to everyone")
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError(f"policy names must be unique, got {names}")
        last = value[-1]
        if last.match.tier is not None or last.match.tags:
            raise ValueError(
                f"the last policy ({last.name!r}) must match everyone (match: {{}}), so no customer is left out"
            )
        return value

    @field_validator("escalation_levels")
    @classmethod
    def _levels_named(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for number, level in enumerate(value, start=2):
            if not level or not all(userid.strip() for userid in level):
                raise ValueError(f"level {number} (entry {number - 1}) must list at least one member userid")
        return value


class TicketSettings(Section):
    """Tickets (issue 7 §2): SLA defaults, automatic closing and reopening, extra complaint words."""

    # Solved tickets close by themselves this many days later (a scheduled job).
    auto_close_days: float = Field(default=3.0, gt=0)
    # A low score or complaint within this many days of solving reopens the ticket instead of opening another.
    reopen_within_days: float = Field(default=7.0, ge=0)
    reopen_sources: tuple[Literal["handoff", "low_score", "complaint", "overdue", "manual"], ...] = (
        "low_score",
        "complaint",
    )
    # Words that make a customer message a complaint on their own, besides services/text/tone.py's lexicon.
    complaint_words: tuple[str, ...] = ()
    complaint_priority: Literal["low", "normal", "high", "urgent"] = "high"
    low_score_priority: Literal["low", "normal", "high", "urgent"] = "high"
    # Told to the customer in kf and on the OA when a complaint opens (or reopens) a ticket; {ref} is T<id>; "" = off.
    complaint_ack: str = "很抱歉给您带来不好的体验，我们已登记您的问题（{ref}），专人会尽快联系您处理。"
    # Wall-clock SLA defaults until the service-sla policies (business hours) take over.
    first_response_minutes: int = Field(default=30, ge=1)
    resolution_minutes: int = Field(default=1440, ge=1)
    close_interval_s: float = Field(default=3600.0, ge=1)  # a job every millisecond would only hammer the DB

    @field_validator("complaint_ack")
    @classmethod
    def _ack_fills(cls, value: str) -> str:
        try:
            value.format(ref="T1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may only use the placeholder {{ref}} (the ticket, e.g. T12), not {exc}") from None
        return value


class SurveyKinds(Section):
    """Which question each moment asks: csat (1-5), nps (0-10) or off."""

    ticket_solved: Literal["csat", "nps", "off"] = "csat"
    kf_session_end: Literal["csat", "nps", "off"] = "csat"
    purchase: Literal["csat", "nps", "off"] = "nps"


class SurveySettings(Section):
    """In-chat CSAT/NPS surveys (issue 7 §3): when they are asked, how long they wait, what they say."""

    expire_h: float = Field(default=48.0, gt=0)
    after_purchase_days: float = Field(default=3.0, gt=0)
    kinds: SurveyKinds = SurveyKinds()
    # Where the bot cannot post (customer groups and reps' 1:1 chats, read through the archive): "rep_note" asks
    # the rep privately to ask the customer; "skip" asks nothing.
    archive_chats: Literal["rep_note", "skip"] = "rep_note"
    csat_question: str = "请为本次服务打分：回复 1-5 分（5 分为非常满意）。"
    csat_menu_head: str = "请为本次服务打分（点击下方选项即可）："
    nps_question: str = "您有多大可能把我们推荐给朋友？请回复 0-10 的数字（10 为一定推荐）。"
    thanks: str = "感谢您的评价！"
    low_score_reply: str = "很抱歉没有让您满意，我们已安排专人跟进，会尽快联系您。"
    job_interval_s: float = Field(default=300.0, ge=1)
