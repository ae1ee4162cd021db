"""Typed, frozen settings parsed once from config.yaml plus the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from services.faq.matcher import MatcherSettings

DEFAULT_CONFIG_PATH: Final = "./config.yaml"
REAL_WECOM_API_BASE: Final = "https://qyapi.weixin.qq.com"
REAL_WECHAT_API_BASE: Final = "https://api.weixin.qq.com"
_AES_KEY_RE: Final = re.compile(r"^[A-Za-z0-9]{43}$")


def _check_aes_key(value: str | None) -> str | None:
    """An EncodingAESKey (WeCom app or Official Account) is 43 characters from [A-Za-z0-9]."""
    if value is not None and not _AES_KEY_RE.match(value):
        raise ValueError(f"expected 43 characters from [A-Za-z0-9], got {len(value)} characters")
    return value


class ConfigError(Exception):
    """A configuration problem, phrased for the operator: which key, what was expected."""


class _Section(BaseModel):
    # No inf/nan: `tick_s: .inf` passed `ge=1` and then broke the scheduler's trigger at start.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///./var/qunke.db"
    echo: bool = False
    min_free_mb: int = Field(default=64, ge=0)  # SQLite: below this much free space /healthz says not writable


class WeComSettings(_Section):
    api_base: str = REAL_WECOM_API_BASE
    request_timeout_s: float = Field(default=10.0, gt=0)
    corp_id: str | None = None
    agent_id: int | None = None
    secret: str | None = None
    token: str | None = None
    aes_key: str | None = None

    _aes_key_shape = field_validator("aes_key")(_check_aes_key)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{1,32}", value):
            raise ValueError("expected 1 to 32 letters or digits")
        return value


class OfficialAccountSettings(_Section):
    """The WeChat Official Account (公众号) channel; off unless its app id is set (WECHAT_OA_*)."""

    api_base: str = REAL_WECHAT_API_BASE
    request_timeout_s: float = Field(default=10.0, gt=0)
    app_id: str | None = None
    secret: str | None = None
    token: str | None = None
    aes_key: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    _aes_key_shape = field_validator("aes_key")(_check_aes_key)


class ArchiveSettings(_Section):
    """The chat archive (会话内容存档): on when its secret and at least one private key are in the environment."""

    # "sandbox" reads the local sandbox over HTTP (at wecom.api_base); "finance_sdk" loads Tencent's native SDK.
    source: Literal["sandbox", "finance_sdk"] = "sandbox"
    sdk_library: str = ""
    sdk_proxy: str = ""
    sdk_timeout_s: int = Field(default=10, ge=1, le=60)
    # msgaudit_notify triggers a pull; this timer pulls anyway, in case a notify is lost.
    poll_interval_s: float = Field(default=60.0, gt=0)
    batch_limit: int = Field(default=1000, ge=1, le=1000)
    decrypt_threads: int = Field(default=2, ge=1, le=32)
    secret: str | None = None
    # "VERSION=PATH[,VERSION=PATH...]": the RSA private key of each publickey_ver set in the admin console.
    private_keys: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.secret and self.private_keys)

    def key_paths(self) -> dict[int, Path]:
        """Parse `private_keys`; a malformed entry names itself and what was expected."""
        paths: dict[int, Path] = {}
        for entry in (self.private_keys or "").split(","):
            if not entry.strip():
                continue
            version, sep, path = entry.partition("=")
            if not sep or not version.strip().isdigit() or not path.strip():
                raise ConfigError(
                    f"environment QUNKE_ARCHIVE_PRIVATE_KEYS: entry {entry.strip()!r} is not VERSION=PATH "
                    "(e.g. 1=/etc/qunke/archive_v1.pem)"
                )
            file = Path(path.strip())
            if not file.is_file():
                raise ConfigError(f"environment QUNKE_ARCHIVE_PRIVATE_KEYS: key version {version}: no file at {file}")
            paths[int(version)] = file
        return paths


class WebhookSettings(_Section):
    max_body_bytes: int = Field(default=65536, ge=1024)
    batch_max_rows: int = Field(default=256, ge=1)


class IngestSettings(_Section):
    batch_size: int = Field(default=50, ge=1)
    poll_interval_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=600.0, gt=0)
    # Re-read every customer group at start-up, so a freshly connected corp has its groups and customers.
    sync_groups_on_start: bool = True
    # Import every member's contacts at start-up (batch/get_by_user), resuming an unfinished import.
    import_contacts_on_start: bool = True
    contact_import_retry_s: float = Field(default=60.0, gt=0)


class SenderSettings(_Section):
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


_WEEKDAYS: Final = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_HHMM_RE: Final = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> object:
    """ "HH:MM" only: YAML 1.1 reads an unquoted 18:00 as the number 1080, which must not become 00:18."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := _HHMM_RE.match(value.strip())):
        return time(int(match.group(1)), int(match.group(2)))
    raise ValueError('expected a time of day as a quoted "HH:MM" string, e.g. "09:00"')


class BreakSettings(_Section):
    start: time
    end: time

    _times = field_validator("start", "end", mode="before")(_clock_time)


class BusinessHoursSettings(_Section):
    """Working days (ISO numbers, Monday = 1, or mon..sun) and hours, in `timezone`; breaks are cut out."""

    days: tuple[int, ...] = (1, 2, 3, 4, 5)
    start: time = time(9)
    end: time = time(18)
    breaks: tuple[BreakSettings, ...] = ()

    _times = field_validator("start", "end", mode="before")(_clock_time)

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


class HolidaySettings(_Section):
    """One date that overrides chinese_calendar: a holiday (not worked) or a workday (e.g. a make-up Saturday)."""

    date: _Date
    kind: Literal["holiday", "workday"]
    name: str = ""


class SlaMatchSettings(_Section):
    # For now a customer's tier is a tag they carry (customer_tags.tag_name); churn/RFM tiers may feed it later.
    tier: str | None = None
    # Matches a customer carrying any of these tags.
    tags: tuple[str, ...] = ()


class SlaPolicySettings(_Section):
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


class ServiceSettings(_Section):
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


class TicketSettings(_Section):
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
    # Wall-clock SLA defaults until the service-sla policies (business hours) take over.
    first_response_minutes: int = Field(default=30, ge=1)
    resolution_minutes: int = Field(default=1440, ge=1)
    close_interval_s: float = Field(default=3600.0, ge=1)  # a job every millisecond would only hammer the DB


class SurveyKinds(_Section):
    """Which question each moment asks: csat (1-5), nps (0-10) or off."""

    ticket_solved: Literal["csat", "nps", "off"] = "csat"
    kf_session_end: Literal["csat", "nps", "off"] = "csat"
    purchase: Literal["csat", "nps", "off"] = "nps"


class SurveySettings(_Section):
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


class ChurnWeights(_Section):
    """How much each signal alone, at full strength, says about the risk (0..1); combined as a noisy-OR."""

    activity: float = Field(default=0.6, ge=0, le=1)
    purchase: float = Field(default=0.6, ge=0, le=1)
    score: float = Field(default=0.7, ge=0, le=1)
    tickets: float = Field(default=0.5, ge=0, le=1)
    negative: float = Field(default=0.4, ge=0, le=1)
    groups: float = Field(default=0.5, ge=0, le=1)


class ChurnSettings(_Section):
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


class FaqEmbedderSettings(_Section):
    """An OpenAI-compatible /v1/embeddings endpoint fused with the lexical matcher; off unless `url` is set."""

    url: str | None = None  # e.g. http://127.0.0.1:8000/v1/embeddings (a self-hosted bge-m3); the key: env
    model: str = "bge-m3"
    weight: float = Field(default=0.35, ge=0, le=1)  # the cosine's share of the fused score
    timeout_s: float = Field(default=5.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class FaqSettings(_Section):
    """FAQ answering (issue 6): the matcher's thresholds, the operator's synonyms and the optional embedder."""

    answer_threshold: float = Field(default=0.72, ge=0, le=1)  # at or above: the bot answers
    suggest_threshold: float = Field(default=0.5, ge=0, le=1)  # at or above: a rep gets a suggested reply
    # canonical term -> the ways customers say it, on top of the shipped domains (services/faq/data/*.yaml)
    synonyms: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    embedder: FaqEmbedderSettings = FaqEmbedderSettings()
    # The wiring (handlers/faq, services/faq/answering.py): repeats, hand-off, unanswered grouping, the demo KB.
    repeat_window_min: int = Field(default=30, ge=0)  # the same entry is not answered again for a customer within it
    handoff_words: tuple[str, ...] = ("人工", "转人工", "人工客服", "真人", "投诉")  # kf: a short message like these
    handoff_after_misses: int = Field(default=3, ge=0)  # kf: consecutive unanswered questions; 0 turns it off
    unanswered_similarity: float = Field(default=80, ge=0, le=100)  # rapidfuzz ratio that groups two questions
    # With an empty KB at start-up, import this file (the demo answers out of the box); "" turns it off.
    example_kb: str = "kb/example.yaml"

    @model_validator(mode="after")
    def _ordered(self) -> FaqSettings:
        if self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not be above answer_threshold")
        return self

    def matcher_settings(self) -> MatcherSettings:
        """The matcher's settings from this section (imported lazily: the matcher pulls in numpy and bm25s)."""
        from services.faq.matcher import MatcherSettings

        return MatcherSettings(
            answer=self.answer_threshold,
            suggest=self.suggest_threshold,
            synonyms=self.synonyms,
            embedder_weight=self.embedder.weight,
        )


class RfmSettings(_Section):
    """The daily RFM scoring (campaigns/rfm.py): tiers for segments, the profile and reports."""

    enabled: bool = True
    run_at: time = time(4)  # "HH:MM" in `timezone`
    window_days: int = Field(default=365, ge=1, le=3650)  # F and M count purchases in this window

    _times = field_validator("run_at", mode="before")(_clock_time)


class QuietHours(_Section):
    start: time = time(21)
    end: time = time(9)

    _times = field_validator("start", "end", mode="before")(_clock_time)


class CampaignSettings(_Section):
    """Campaign runs (campaigns/, docs/CAMPAIGNS.md): guards that hold across every campaign and path."""

    tick_s: float = Field(default=30, gt=0, le=3600)  # how often due firings start and live runs move on
    quiet_hours: QuietHours = QuietHours()
    frequency_cap: int = Field(default=2, ge=1, le=100)  # marketing messages per customer ...
    frequency_days: int = Field(default=7, ge=1, le=90)  # ... in this many days, across campaigns and paths
    batch_size: int = Field(default=1000, ge=10, le=20_000)  # customers per committed batch of a run
    optout_words: list[str] = ["退订", "TD", "取消订阅"]
    optin_words: list[str] = ["订阅"]


class FollowupSettings(_Section):
    """Rep follow-up reminders (services/followups.py): a reminder when one falls due, a workday morning digest."""

    tick_s: float = Field(default=60, gt=0, le=3600)  # how often due follow-ups are looked for
    digest_at: time = time(9)  # "HH:MM" in `timezone`, on workdays (service.business_hours and holidays)

    _times = field_validator("digest_at", mode="before")(_clock_time)


class ConsoleSettings(_Section):
    """The web console (DESIGN.md §12)."""

    enabled: bool = True
    idle_timeout_min: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Believe X-Forwarded-Proto/-For (Secure cookies, client IPs) only when a reverse proxy in front sets them.
    trust_proxy: bool = False


class PrivacySettings(_Section):
    """Data retention (DESIGN.md §7, services/retention.py): a daily purge of messages older than N days."""

    retention_days: int = Field(default=0, ge=0, le=36_500)  # 0: off, everything is kept
    run_at: time = time(4, 15)  # "HH:MM" in `timezone`, daily
    batch_size: int = Field(default=1000, ge=1, le=50_000)  # rows per transaction

    _times = field_validator("run_at", mode="before")(_clock_time)


class Settings(_Section):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Asia/Shanghai") from None
        return value

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    wecom: WeComSettings = WeComSettings()
    officialaccount: OfficialAccountSettings = OfficialAccountSettings()
    archive: ArchiveSettings = ArchiveSettings()
    webhook: WebhookSettings = WebhookSettings()
    ingest: IngestSettings = IngestSettings()
    sender: SenderSettings = SenderSettings()
    service: ServiceSettings = ServiceSettings()
    tickets: TicketSettings = TicketSettings()
    surveys: SurveySettings = SurveySettings()
    churn: ChurnSettings = ChurnSettings()
    faq: FaqSettings = FaqSettings()
    rfm: RfmSettings = RfmSettings()
    campaigns: CampaignSettings = CampaignSettings()
    followups: FollowupSettings = FollowupSettings()
    console: ConsoleSettings = ConsoleSettings()
    privacy: PrivacySettings = PrivacySettings()

    def require_wecom(self) -> WeComSettings:
        """Fail with the names of the missing secrets when the bot is about to talk to WeCom."""
        missing = [
            env
            for env, value in (
                ("WECOM_CORP_ID", self.wecom.corp_id),
                ("WECOM_SECRET", self.wecom.secret),
                ("WECOM_TOKEN", self.wecom.token),
                ("WECOM_AES_KEY", self.wecom.aes_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (WeCom app credentials)")
        return self.wecom

    def require_officialaccount(self) -> OfficialAccountSettings:
        """The OA channel is optional, but once its app id is set every OA secret must be too."""
        oa = self.officialaccount
        missing = [
            env
            for env, value in (
                ("WECHAT_OA_SECRET", oa.secret),
                ("WECHAT_OA_TOKEN", oa.token),
                ("WECHAT_OA_AES_KEY", oa.aes_key),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (WeChat Official Account)")
        return oa


class _Environment(BaseSettings):
    """The environment variables Qunke reads (DESIGN.md §5); secrets live only here."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    QUNKE_DATABASE_URL: str | None = None
    WECOM_API_BASE: str | None = None
    WECOM_CORP_ID: str | None = None
    WECOM_AGENT_ID: str | None = None
    WECOM_SECRET: str | None = None
    WECOM_TOKEN: str | None = None
    WECOM_AES_KEY: str | None = None
    WECOM_ARCHIVE_SECRET: str | None = None
    QUNKE_ARCHIVE_PRIVATE_KEYS: str | None = None
    WECHAT_API_BASE: str | None = None
    WECHAT_OA_APPID: str | None = None
    WECHAT_OA_SECRET: str | None = None
    WECHAT_OA_TOKEN: str | None = None
    WECHAT_OA_AES_KEY: str | None = None


_ENV_TARGETS: Final = {
    "QUNKE_DATABASE_URL": ("database", "url"),
    "WECOM_API_BASE": ("wecom", "api_base"),
    "WECOM_CORP_ID": ("wecom", "corp_id"),
    "WECOM_AGENT_ID": ("wecom", "agent_id"),
    "WECOM_SECRET": ("wecom", "secret"),
    "WECOM_TOKEN": ("wecom", "token"),
    "WECOM_AES_KEY": ("wecom", "aes_key"),
    "WECOM_ARCHIVE_SECRET": ("archive", "secret"),
    "QUNKE_ARCHIVE_PRIVATE_KEYS": ("archive", "private_keys"),
    "WECHAT_API_BASE": ("officialaccount", "api_base"),
    "WECHAT_OA_APPID": ("officialaccount", "app_id"),
    "WECHAT_OA_SECRET": ("officialaccount", "secret"),
    "WECHAT_OA_TOKEN": ("officialaccount", "token"),
    "WECHAT_OA_AES_KEY": ("officialaccount", "aes_key"),
}
_SECRET_KEYS: Final = {"corp_id", "agent_id", "secret", "token", "aes_key", "app_id", "private_keys"}


def config_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("QUNKE_CONFIG", DEFAULT_CONFIG_PATH))


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Parse config.yaml (optional when absent at the default path) and overlay the environment."""
    env = dict(os.environ if environ is None else environ)
    path = path or config_path_from_env(env)
    data = _read_yaml(path, required="QUNKE_CONFIG" in env)
    _reject_secrets_in_file(data, path)
    values = _Environment(**{k: v for k, v in env.items() if k in _ENV_TARGETS}).model_dump()
    for name, value in values.items():
        if value:
            section, key = _ENV_TARGETS[name]
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                raise ConfigError(f"{path}: {section}: expected a mapping")
            data[section][key] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found (QUNKE_CONFIG points at it)")
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def _reject_secrets_in_file(data: Mapping[str, Any], path: Path) -> None:
    from_env = {target: name for name, target in _ENV_TARGETS.items()}
    for section in ("wecom", "officialaccount", "archive"):
        values = data.get(section)
        if isinstance(values, Mapping):
            leaked = sorted(_SECRET_KEYS & set(values))
            if leaked:
                names = ", ".join(from_env[(section, key)] for key in leaked)
                raise ConfigError(
                    f"{path}: {section}.{leaked[0]}: secrets belong in the environment ({names}), not the file"
                )


def _describe(exc: ValidationError, path: Path) -> str:
    lines = []
    from_env = {target: name for name, target in _ENV_TARGETS.items()}
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        env_name = from_env.get(tuple(str(p) for p in err["loc"][:2]))  # type: ignore[arg-type]
        if env_name is not None and err["loc"][-1] in _SECRET_KEYS:
            lines.append(f"environment {env_name}: {err['msg']}")  # never echo a secret back
        elif err["type"] == "extra_forbidden":
            lines.append(f"{path}: {where}: unknown key (check the spelling against config.yaml's documented keys)")
        else:
            lines.append(f"{path}: {where}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)
