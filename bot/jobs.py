"""The scheduled jobs step of `create_app`: the scheduler, which fires only while this process leads the "scheduler"
duty (bot/duties.py), and every periodic job it fires."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaign_policy import campaign_policy
from bot.config.settings import Settings
from bot.duties import DUTIES
from bot.health import HealthSources
from bot.policies import faq_policy, service_rules, survey_policy, ticket_policy
from bot.retention_job import schedule_retention
from bot.runtime import CORE, HEALTH
from bot.scheduler import Scheduler
from campaigns import runs as campaign_runs
from campaigns.rfm import run_rfm
from services.churn.model import ChurnPolicy
from services.churn.warning import run_churn
from services.clock import Clock
from services.faq import oa_person, oa_rehold
from services.service import followups, sla
from services.service.overdue import overdue_ticket_hook
from services.surveys import triggers as survey_triggers
from services.tickets import changes as ticket_changes

log = logging.getLogger("qunke")

CHURN_JOB: Final = "churn"
RFM_JOB: Final = "rfm"
CAMPAIGNS_JOB: Final = "campaigns"
FOLLOWUPS_JOB: Final = "followups"
DIGEST_JOB: Final = "followup-digest"


def setup_jobs(app: web.Application) -> None:
    """Set up last, so it stops first: no job starts while the parts it feeds are stopping."""

    async def jobs(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        settings, sessions, clock = core.settings, core.sessions, core.clock
        duties = app[DUTIES]
        leadership = duties["scheduler"]
        scheduler = Scheduler(
            core.tasks, settings.timezone, core.metrics.job_finished, leads=lambda: leadership.is_leader
        )
        setup_service_loop(scheduler, sessions, clock, settings)
        schedule_churn(scheduler, settings, sessions, clock)
        schedule_rfm(scheduler, settings, sessions, clock)
        schedule_campaigns(scheduler, settings, sessions, clock)
        schedule_followups(scheduler, settings, sessions, clock)
        schedule_retention(scheduler, settings, sessions, clock, core.metrics)
        register_service_jobs(scheduler, sessions, clock, settings)
        database = settings.database
        app[HEALTH] = HealthSources(sessions, database.url, database.min_free_mb, scheduler, core.workers)
        scheduler.start()
        log.info("qunke started (database: %s)", core.engine.dialect.name)
        yield
        scheduler.shutdown()
        duties.stop("scheduler")

    app.cleanup_ctx.append(jobs)


def setup_service_loop(
    scheduler: Scheduler, sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """The SLA tick (waits answered by the FAQ, rep warnings, escalations), and a loud warning for any year the
    business calendar has no holiday data for (this year and next: a deadline in late December runs into January)."""
    rules = service_rules(settings)
    this_year = rules.calendar.local_date(clock.now()).year
    rules.calendar.warn_uncovered_years((this_year, this_year + 1))

    on_overdue = overdue_ticket_hook(ticket_policy(settings))

    async def sla_tick() -> None:
        await sla.tick(sessions, rules, clock.now(), on_overdue=on_overdue)

    scheduler.every("service-sla", settings.service.tick_s, sla_tick)


def schedule_churn(
    scheduler: Scheduler, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """The daily churn early warning at `churn.run_at` in the business zone (docs/CHURN.md)."""
    if not settings.churn.enabled:
        return
    policy = ChurnPolicy.from_config(settings.churn.model_dump())

    async def churn_job() -> None:
        summary = await run_churn(sessions, clock.now(), policy)
        log.info("churn scoring done: %s", summary.to_dict())

    scheduler.daily(CHURN_JOB, settings.churn.run_time(), churn_job)


def schedule_rfm(
    scheduler: Scheduler, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """The daily RFM scoring at `rfm.run_at` in the business zone (campaigns/rfm.py)."""
    if not settings.rfm.enabled:
        return

    async def rfm_job() -> None:
        summary = await run_rfm(sessions, clock.now(), settings.rfm.window_days)
        log.info("rfm scoring done: %s", summary.to_dict())

    scheduler.daily(RFM_JOB, settings.rfm.run_at, rfm_job)


def schedule_campaigns(
    scheduler: Scheduler, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """Every campaigns.tick_s: due firings become runs, live runs move on (campaigns/runs.py)."""
    policy = campaign_policy(settings)

    async def campaigns_job() -> None:
        summary = await campaign_runs.tick(sessions, clock.now(), policy)
        if summary.fired or summary.advanced:
            log.info("campaigns tick: %s", summary.to_dict())

    scheduler.every(CAMPAIGNS_JOB, settings.campaigns.tick_s, campaigns_job)


def schedule_followups(
    scheduler: Scheduler, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """Due follow-ups remind their rep; on workdays at followups.digest_at each rep gets the day's digest."""
    calendar = service_rules(settings).calendar

    async def remind() -> None:
        async with sessions() as session, session.begin():
            await followups.remind_due(session, clock.now())

    async def digest() -> None:
        now = clock.now()
        if not calendar.is_working_day(calendar.local_date(now)):
            return
        async with sessions() as session, session.begin():
            reps = await followups.send_digest(session, now, settings.timezone, settings.churn.threshold)
        log.info("follow-up digest sent to %d reps", reps)

    scheduler.every(FOLLOWUPS_JOB, settings.followups.tick_s, remind)
    scheduler.daily(DIGEST_JOB, settings.followups.digest_at, digest)


def register_service_jobs(
    scheduler: Scheduler, sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """Tickets close by themselves after solving; surveys expire and post-purchase surveys go out."""
    close_after = timedelta(days=settings.tickets.auto_close_days)
    policy = survey_policy(settings)

    async def close_tickets() -> None:
        await ticket_changes.auto_close_job(sessions, clock, close_after)

    async def run_surveys() -> None:
        await survey_triggers.survey_job(sessions, clock, policy)

    scheduler.every("tickets-auto-close", settings.tickets.close_interval_s, close_tickets)
    scheduler.every("surveys", settings.surveys.job_interval_s, run_surveys)
    schedule_oa_holds(scheduler, sessions, clock, settings)


def schedule_oa_holds(
    scheduler: Scheduler, sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """OA followers held for a person go back to the bot once their ticket is solved or they went quiet; the next
    message would release them too, this puts the release on the timeline and profile without waiting for one. A
    follower whose hand-off ticket was reopened is held again here (and on their next message) the same way."""
    hold = faq_policy(settings).hold

    async def release_holds() -> None:
        async with sessions() as session, session.begin():
            released = await oa_person.release_due(session, clock.now(), hold)
            reheld = await oa_rehold.hold_reopened(session, clock.now(), hold)
        if released:
            log.info("%d OA follower(s) back with the bot after a hand-off", released)
        if reheld:
            log.info("%d OA follower(s) with a person again: their hand-off ticket reopened", reheld)

    scheduler.every("oa-person-release", settings.service.tick_s, release_holds)
