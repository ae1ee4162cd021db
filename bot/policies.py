"""Settings turned into the frozen policies features use, built once at start-up (and by the CLI)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from bot.config.service import ServiceSettings
from bot.config.settings import Settings
from services.faq.answer_types import Policy as FaqPolicy
from services.faq.budget import Budgets
from services.faq.handoff import Handoff, queued_notice
from services.faq.oa_person import HoldPolicy
from services.faq.unanswered import Grouping
from services.service.calendar import BusinessCalendar, DayKind, DayOverride, WorkingHours
from services.service.policy import ServiceRules, SlaPolicy
from services.surveys.asking import SurveyPolicy
from services.tickets.opening import TicketPolicy
from services.tickets.relay import RelayRules


@dataclass(frozen=True, slots=True)
class Policies:
    """Every policy the handlers read, built once at start-up and carried on `Context.features` (so no handler
    turns Settings into a policy per event)."""

    service: ServiceRules
    tickets: TicketPolicy
    surveys: SurveyPolicy
    faq: FaqPolicy
    relay: RelayRules


def policies_from(settings: Settings) -> Policies:
    service, tickets, faq = service_rules(settings), ticket_policy(settings), faq_policy(settings)
    return Policies(
        service=service,
        tickets=tickets,
        surveys=survey_policy(settings),
        faq=faq,
        relay=RelayRules(faq.budgets, service.calendar, tickets),
    )


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


def ticket_policy(settings: Settings) -> TicketPolicy:
    t = settings.tickets
    calendar = service_rules(settings).calendar
    return TicketPolicy(
        on_duty=settings.service.on_duty,
        managers=settings.service.managers,
        first_response=timedelta(minutes=t.first_response_minutes),
        resolution=timedelta(minutes=t.resolution_minutes),
        reopen_within=timedelta(days=t.reopen_within_days),
        reopen_sources=frozenset(t.reopen_sources),
        # Ticket deadlines count business hours, like the waits' (one calendar per configuration).
        due=lambda start, span: calendar.add_business_time(start, span.total_seconds()),
    )


def survey_policy(settings: Settings) -> SurveyPolicy:
    s = settings.surveys
    return SurveyPolicy(
        expire=timedelta(hours=s.expire_h),
        after_purchase=timedelta(days=s.after_purchase_days),
        kinds=s.kinds.model_dump(),
        rep_note=s.archive_chats == "rep_note",
        csat_question=s.csat_question,
        csat_menu_head=s.csat_menu_head,
        nps_question=s.nps_question,
        thanks=s.thanks,
        low_score_reply=s.low_score_reply,
        managers=settings.service.managers,
        low_priority=settings.tickets.low_score_priority,
    )


def faq_policy(settings: Settings) -> FaqPolicy:
    """The FAQ's repeat window, hand-off rules, kf/OA budgets, question grouping and menus."""
    faq, sender, hours = settings.faq, settings.sender, settings.service.business_hours
    return FaqPolicy(
        repeat_window=timedelta(minutes=faq.repeat_window_min),
        handoff=Handoff(
            words=faq.handoff_words,
            after_misses=faq.handoff_after_misses,
            on_duty=settings.service.on_duty,
            timezone=settings.timezone,
            tickets=ticket_policy(settings),
            managers=settings.service.managers,
            queued_notice=queued_notice(hours.days, f"{hours.start:%H:%M}", f"{hours.end:%H:%M}"),
        ),
        budgets=Budgets(
            kf_quota=sender.kf_quota,
            kf_window=timedelta(hours=sender.kf_window_h),
            oa_message_quota=sender.oa_message_quota,
            oa_message_window=timedelta(hours=sender.oa_message_window_h),
            oa_action_quota=sender.oa_action_quota,
            oa_action_window=timedelta(seconds=sender.oa_action_window_s),
            margin=timedelta(seconds=sender.window_margin_s),
        ),
        grouping=Grouping(similarity=faq.unanswered_similarity, suggest_threshold=faq.suggest_threshold),
        menus=faq.menus,
        hold=HoldPolicy(
            release_after=timedelta(hours=faq.oa_handoff_release_hours),
            alert_every=timedelta(minutes=faq.repeat_window_min),
            timezone=settings.timezone,
        ),
    )


def relay_rules(settings: Settings) -> RelayRules:
    """What a rep's "回复 T12 …" needs, for the console and the CLI as for the app (services/tickets/relay.py)."""
    return policies_from(settings).relay
