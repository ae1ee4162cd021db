"""The service loop's rules from config: business calendar, SLA policies and escalation levels, built once."""

from __future__ import annotations

import functools

from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from services.calendar import BusinessCalendar, DayKind, DayOverride, WorkingHours
from services.sla_policy import ServiceRules, SlaPolicy


def service_rules(settings: Settings) -> ServiceRules:
    """Settings are frozen, so one set of rules (and one calendar with its per-day cache) serves every event."""
    return _rules(settings.service, settings.timezone)


@functools.lru_cache(maxsize=8)
def _rules(service: ServiceSettings, zone: str) -> ServiceRules:
    hours = service.business_hours
    calendar = BusinessCalendar(
        zone,
        WorkingHours(
            days=frozenset(hours.days),
            start=hours.start,
            end=hours.end,
            breaks=tuple((b.start, b.end) for b in hours.breaks),
        ),
        [DayOverride(h.date, DayKind(h.kind), h.name) for h in service.holidays],
    )
    policies = tuple(
        SlaPolicy(
            name=p.name,
            first_response_s=p.first_response_min * 60,
            resolution_s=p.resolution_h * 3600,
            warn_before_s=p.warn_before_min * 60,
            tier=p.match.tier,
            tags=frozenset(p.match.tags),
        )
        for p in service.sla_policies
    )
    return ServiceRules(
        calendar=calendar,
        policies=policies,
        managers=service.managers,
        on_duty=service.on_duty,
        escalation_levels=service.escalation_levels,
        escalate_every_s=service.escalate_every_min * 60,
    )
