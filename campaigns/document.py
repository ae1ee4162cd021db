"""The campaign document (DESIGN §11), validated with errors that name the field; the same from the CLI and tests."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

TRIGGER_EVENTS = ("purchase", "birthday", "first_purchase_anniversary", "silent", "renewal_due", "joined_group")
PATHS = ("mass_single", "kf", "member_reminder", "followup")
REP_PATHS = ("member_reminder", "followup")  # to reps, not customers: no opt-out, caps or quiet hours


class DocumentError(ValueError):
    """A campaign document that cannot be used; each line names a field and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Guards(_Strict):
    quiet_hours: bool = True
    frequency_cap: bool = True
    skip_holidays: bool = False  # also weekends: the send moves to the next workday


class Trigger(_Strict):
    event: Literal["purchase", "birthday", "first_purchase_anniversary", "silent", "renewal_due", "joined_group"]
    days: int = Field(default=0, ge=0, le=3650)
    at: str = "10:00"  # HH:MM local: when the day's firing runs
    item: str | None = None  # purchase only: only purchases of this item (补货提醒)

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("expected HH:MM, e.g. 10:00")
        return value

    @model_validator(mode="after")
    def _item_only_for_purchases(self) -> Trigger:
        if self.item is not None and self.event != "purchase":
            raise ValueError("item applies to the purchase trigger only")
        if self.event == "silent" and self.days < 1:
            raise ValueError("silent needs days >= 1")
        return self

    def local_time(self) -> time:
        hour, minute = self.at.split(":")
        return time(int(hour), int(minute))


class CampaignDocument(_Strict):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=512)
    kind: Literal["broadcast", "recurring", "automation"]
    segment: str | None = None
    filter: dict[str, Any] | None = None
    path: Literal["mass_single", "kf", "member_reminder", "followup"]
    message: str = Field(min_length=1, max_length=2000)
    at: datetime | Literal["now"] | None = None
    cron: str | None = None
    trigger: Trigger | None = None
    holdout: float = Field(default=0.0, ge=0, le=0.5)
    guards: Guards = Guards()
    attribution_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _schedule_matches_kind(self) -> CampaignDocument:
        if (self.segment is None) == (self.filter is None) and self.kind != "automation":
            raise ValueError("give exactly one of segment (a saved segment's name) or filter (an inline filter)")
        if self.segment is not None and self.filter is not None:
            raise ValueError("give segment or filter, not both")
        wanted = {"broadcast": "at", "recurring": "cron", "automation": "trigger"}[self.kind]
        for key in ("at", "cron", "trigger"):
            present = getattr(self, key) is not None
            if key == wanted and not present:
                raise ValueError(f"a {self.kind} campaign needs `{key}`")
            if key != wanted and present:
                raise ValueError(f"`{key}` does not apply to a {self.kind} campaign (it uses `{wanted}`)")
        return self


def parse_document(raw: object, zone: str, now: datetime) -> CampaignDocument:
    """Validate a campaign document; every problem is reported, each naming its field."""
    if not isinstance(raw, dict):
        raise DocumentError("(document): expected a mapping with name, kind, path, message ...")
    try:
        document = CampaignDocument.model_validate(raw)
    except ValidationError as exc:
        raise DocumentError("\n".join(_describe(error) for error in exc.errors())) from None
    problems: list[str] = []
    if document.cron is not None:
        try:
            CronTrigger.from_crontab(document.cron, timezone=ZoneInfo(zone))
        except ValueError as exc:
            problems.append(f"cron: expected five fields (minute hour day month weekday), e.g. '0 10 * * MON': {exc}")
    if isinstance(document.at, datetime) and broadcast_time(document, zone) < now:
        problems.append("at: the time is in the past; use a future time or `now`")
    if problems:
        raise DocumentError("\n".join(problems))
    return document


def broadcast_time(document: CampaignDocument, zone: str, created_at: datetime | None = None) -> datetime:
    """When a broadcast fires: its `at` (a naive time is in the business zone), or its creation for `now`."""
    if document.at == "now" or document.at is None:
        assert created_at is not None, "a `now` broadcast fires at its creation time"
        return created_at
    at = document.at
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(zone))


def _describe(error: Any) -> str:
    path = ".".join(str(part) for part in error["loc"]) or "(document)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{path}: {message}"
