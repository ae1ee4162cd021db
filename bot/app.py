"""The composition root: `create_app(settings)` runs small setup steps, each wiring one part of the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from bot.campaign_policy import campaign_policy
from bot.channels.webhooks import setup_webhooks
from bot.channels.wecom.sources import setup_wecom_sources
from bot.config.settings import Settings
from bot.console_login import wecom_login
from bot.delivery.setup import setup_delivery
from bot.dispatch import Dispatcher, Features
from bot.duties import setup_duties
from bot.faq_setup import setup_faq
from bot.gc_freeze import setup_gc_freeze
from bot.http_errors import quiet_bad_requests
from bot.ingest.setup import setup_ingest
from bot.jobs import setup_jobs
from bot.memory_trim import setup_memory_trim
from bot.metrics import Metrics
from bot.middleware.logging import LogTiming
from bot.policies import relay_rules
from bot.runtime import CORE, DISPATCHER, FAQ_ENGINE, FEATURES, setup_core
from bot.status_routes import setup_status_routes
from bot.welcome_hook import WelcomeNewContacts
from console import ConsoleConfig, setup_console
from handlers.app_help import router as app_help_router
from handlers.contacts import router as contacts_router
from handlers.conversations import router as conversations_router
from handlers.faq import router as faq_router
from handlers.followups import router as followups_router
from handlers.optout import router as optout_router
from handlers.service import router as service_router
from handlers.surveys import router as surveys_router
from handlers.tickets import router as tickets_router
from services.clock import Clock, SystemClock


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    # Outermost first: every event gets one log line with its outcome and time, whatever happens inside.
    dispatcher.add_outer_middleware(LogTiming())
    dispatcher.add_outer_middleware(WelcomeNewContacts())
    dispatcher.include_router(contacts_router)
    dispatcher.include_router(conversations_router)
    # Surveys before tickets: a "差评" that answers a pending survey is a score, not a new complaint.
    dispatcher.include_router(optout_router)
    dispatcher.include_router(surveys_router)
    dispatcher.include_router(tickets_router)
    dispatcher.include_router(followups_router)
    dispatcher.include_router(app_help_router)  # after every command it explains: first match wins
    dispatcher.include_router(service_router)
    dispatcher.include_router(faq_router)
    return dispatcher


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Steps start in this order and stop in the reverse one (aiohttp's cleanup_ctx): the jobs stop first, then
    ingest lets the last callbacks and events through, delivery sends what they queued, and the core closes last."""
    settings.sender.check_lease(settings.require_wecom().request_timeout_s)
    clock = clock or SystemClock()
    quiet_bad_requests()
    app = web.Application()
    setup_core(app, settings, clock, Metrics())
    setup_memory_trim(app)
    setup_faq(app)
    setup_dispatch(app)
    setup_duties(app)
    setup_delivery(app)
    setup_wecom_sources(app, settings)
    setup_ingest(app)
    setup_webhooks(app, settings)
    setup_jobs(app)
    setup_status_routes(app)
    if settings.console.enabled:
        console = ConsoleConfig(
            timedelta(minutes=settings.console.idle_timeout_min),
            settings.console.trust_proxy,
            settings.timezone,
            campaign_policy(settings),
            wecom_login(app, settings),
            relay_rules(settings),
        )
        setup_console(app, console, lambda: app[CORE].sessions, clock)
    setup_gc_freeze(app)
    return app


def setup_dispatch(app: web.Application) -> None:
    """The router tree every event goes through, and the feature state its handlers share."""

    async def dispatch(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        app[FEATURES] = Features.of(core.settings, app[FAQ_ENGINE], core.metrics)
        app[DISPATCHER] = build_dispatcher()
        yield

    app.cleanup_ctx.append(dispatch)
