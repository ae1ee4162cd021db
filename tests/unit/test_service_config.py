"""The `service:` config section: business hours, holidays, SLA policies, escalation; clear errors for mistakes."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.base import ConfigError
from bot.config.settings import Settings, load_settings
from bot.policies import service_rules

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"

FULL = """
timezone: Asia/Shanghai
service:
  managers: [lisi]
  on_duty: [wangwu]
  business_hours:
    days: [mon, tue, wed, thu, fri, 6]
    start: "08:30"
    end: "17:30"
    breaks:
      - {start: "12:00", end: "13:00"}
  holidays:
    - {date: 2027-01-01, kind: holiday, name: 元旦}
    - {date: 2027-01-09, kind: workday, name: 调休}
  sla_policies:
    - {name: gold, match: {tier: 金卡}, first_response_min: 3, resolution_h: 8, warn_before_min: 1}
    - {name: vip, match: {tags: [VIP, 大客户]}, first_response_min: 5, warn_before_min: 2}
    - {name: default, first_response_min: 30, warn_before_min: 10}
  escalation_levels: [[zhaoliu], [boss1, boss2]]
  escalate_every_min: 15
  tick_s: 10
"""


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, {})


def test_repo_config_has_the_documented_service_defaults_when_loaded() -> None:
    service = load_settings(REPO_CONFIG, {}).service
    assert service.business_hours.days == (1, 2, 3, 4, 5)
    assert (service.business_hours.start, service.business_hours.end) == (time(9), time(18))
    assert [(p.name, p.first_response_min, p.resolution_h) for p in service.sla_policies] == [
        ("vip", 5, 24),
        ("default", 30, 24),
    ]
    assert service.sla_policies[0].match.tags == ("VIP",)
    assert service.escalate_every_min == 30 and service.tick_s == 30


def test_a_full_service_section_builds_the_rules_when_valid(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL)
    rules = service_rules(settings)
    assert rules.managers == ("lisi",) and rules.on_duty == ("wangwu",)
    assert rules.level(1) == ("lisi",) and rules.level(2) == ("zhaoliu",) and rules.level(3) == ("boss1", "boss2")
    assert rules.level(4) is None
    assert rules.escalate_every_s == 900
    assert rules.policy_for({"金卡"}).name == "gold"
    assert rules.policy_for({"大客户"}).name == "vip"
    assert rules.policy_for({"普通"}).name == "default" and rules.policy_for(set()).name == "default"
    assert rules.calendar.hours.days == frozenset({1, 2, 3, 4, 5, 6})
    assert not rules.calendar.is_working_day(date(2027, 1, 1))
    assert rules.calendar.is_working_day(date(2027, 1, 9))
    cn = ZoneInfo("Asia/Shanghai")
    assert not rules.calendar.is_business_time(datetime(2026, 11, 23, 12, 30, tzinfo=cn))
    assert rules.calendar.is_business_time(datetime(2026, 11, 28, 9, 0, tzinfo=cn))  # Saturday is worked here
    assert service_rules(settings) is rules  # built once per configuration


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "business_hours: {end: 18:00}",
            'service.business_hours.end: Value error, expected a time of day as a quoted "HH:MM"',
        ),
        ('business_hours: {start: "18:00", end: "09:00"}', "start (18:00) must be before end (09:00)"),
        ("business_hours: {days: [mon, funday]}", "'funday' is not a weekday"),
        ("business_hours: {days: []}", "expected a non-empty list of weekdays"),
        ('business_hours: {breaks: [{start: "17:00", end: "19:00"}]}', "break 17:00-19:00 must lie inside 09:00-18:00"),
        (
            "holidays: [{date: 2027-01-01, kind: vacation}]",
            "service.holidays.0.kind: Input should be 'holiday' or 'workday'",
        ),
        (
            "holidays: [{date: 2027-01-01, kind: holiday}, {date: 2027-01-01, kind: workday}]",
            "2027-01-01 is listed twice",
        ),
        ("sla_policies: []", "expected at least one policy"),
        (
            "sla_policies: [{name: vip, match: {tags: [VIP]}, first_response_min: 5, warn_before_min: 1}]",
            "the last policy ('vip') must match everyone",
        ),
        (
            "sla_policies: [{name: d, first_response_min: 5, warn_before_min: 5}]",
            "warn_before_min (5) must be less than first_response_min (5)",
        ),
        (
            "sla_policies: [{name: d, first_response_min: 0}]",
            "service.sla_policies.0.first_response_min: Input should be greater than 0",
        ),
        ("sla_policies: [{name: d, first_response_min: 5, colour: red}]", "service.sla_policies.0.colour: unknown key"),
        ("escalation_levels: [[zhaoliu], []]", "level 3 (entry 2) must list at least one member userid"),
        ("escalate_every_min: 0", "service.escalate_every_min: Input should be greater than 0"),
        ("tick_s: 0.1", "service.tick_s: Input should be greater than or equal to 1"),
    ],
)
def test_bad_service_config_names_the_key_and_expectation_when_wrong(
    tmp_path: Path, section: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"service:\n  {section}\n")
    assert message in str(err.value)
