"""The campaign document (DESIGN §11), validated with errors that name the field; the same from the CLI and tests."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

TRIGGER_EVENTS = (
    "purchase",
    "birthday",
    "first_purchase_anniversary",
    "silent",
    "renewal_due",
    "joined_group",
    "tag_added",
    "new_contact",
)
PATHS = ("mass_single", "mass_group", "kf", "oa_template", "member_reminder", "followup", "welcome")
EVENT_TRIGGERS = ("new_contact",)  # fired by a callback as it happens, never by the daily firing
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
    event: Literal[
        "purchase",
        "birthday",
        "first_purchase_anniversary",
        "silent",
        "renewal_due",
        "joined_group",
        "tag_added",
        "new_contact",
    ]
    days: int = Field(default=0, ge=0, le=3650)
    at: str = "10:00"  # HH:MM local: when the day's firing runs
    item: str | None = None  # purchase only: only purchases of this item (补货提醒)
    tag: str | None = None  # tag_added only: the tag's name

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
        if (self.tag is not None) != (self.event == "tag_added"):
            raise ValueError("tag_added needs `tag` (a tag's name), and only tag_added takes it")
        if self.event == "new_contact" and self.days:
            raise ValueError("new_contact fires as the customer adds the rep: days must be 0")
        return self

    def local_time(self) -> time:
        hour, minute = self.at.split(":")
        return time(int(hour), int(minute))


class OaTemplate(_Strict):
    """An OA template message: the template's id, its fields (each a Jinja2 text), and an optional link."""

    template_id: str = Field(min_length=1, max_length=128)
    data: dict[str, str] = Field(min_length=1)
    url: str | None = None


class CampaignDocument(_Strict):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=512)
    kind: Literal["broadcast", "recurring", "automation"]
    segment: str | None = None
    filter: dict[str, Any] | None = None
    path: Literal["mass_single", "mass_group", "kf", "oa_template", "member_reminder", "followup", "welcome"]
    message: str = Field(min_length=1, max_length=2000)
    # welcome only: the text by the channel `state` the customer came from (a QR code's state); `message` otherwise
    state_messages: dict[str, str] = Field(default_factory=dict)
    # oa_template only: the OA template and how its fields are filled (each value a template like `message`)
    oa_template: OaTemplate | None = None
    at: datetime | Literal["now"] | None = None
    cron: str | None = None
    trigger: Trigger | None = None
    holdout: float = Field(default=0.0, ge=0, le=0.5)
    guards: Guards = Guards()
    attribution_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _schedule_matches_kind(self) -> CampaignDocument:
        _check_path(self)
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


def _check_path(document: CampaignDocument) -> None:
    """The paths tied to one trigger or one extra field."""
    new_contact = document.trigger is not None and document.trigger.event == "new_contact"
    if new_contact != (document.path == "welcome"):
        raise ValueError("path welcome goes with trigger event new_contact, and new_contact with path welcome")
    if document.state_messages and document.path != "welcome":
        raise ValueError("state_messages applies to path welcome only")
    if (document.oa_template is not None) != (document.path == "oa_template"):
        raise ValueError("path oa_template needs `oa_template` (template_id and data), and only it takes one")


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
