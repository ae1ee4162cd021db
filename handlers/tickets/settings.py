"""Ticket and survey policies from the app's Settings, for handlers, the CLI and whoever else opens tickets."""

from __future__ import annotations

from datetime import timedelta

from bot.config.settings import Settings
from handlers.service.rules import service_rules
from services.surveys import SurveyPolicy
from services.tickets import TicketPolicy


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
