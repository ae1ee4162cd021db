"""The composition root: `create_app(settings)` wires storage, WeCom, the inbox, ingest and the handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from wechatpy.crypto import WeChatCrypto

from bot.channels.officialaccount.client import OfficialAccountClient
from bot.channels.officialaccount.webhook import OA_WEBHOOK_DEPS, OaWebhookDeps, setup_oa_webhook
from bot.channels.wecom.archive import (
    ArchiveKeys,
    ArchiveSource,
    ArchiveSourceError,
    FinanceSdkArchiveSource,
    SandboxArchiveSource,
)
from bot.channels.wecom.archive_puller import ArchivePuller
from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.crypto import CallbackCrypto
from bot.channels.wecom.directory import WeComDirectory
from bot.channels.wecom.kf import KfPuller, cursor_name
from bot.channels.wecom.webhook import WEBHOOK_DEPS, WebhookDeps, setup_wecom_webhook
from bot.config.settings import ArchiveSettings, ConfigError, Settings
from bot.ingest.contact_import import ContactImporter
from bot.dispatch import Dispatcher, Features
from bot.events import ArchivePullRequested, KfPullRequested
from bot.failure_streak import FailureStreak
from bot.faq_setup import build_faq_engine, import_example_if_empty, warm_up
from bot.health import HealthSources, Worker, health_report
from bot.http_errors import quiet_bad_requests
from bot.ingest.inbox import InboxWriter
from bot.ingest.worker import IngestWorker, Puller
from bot.delivery.kf_handoff import pool_health
from bot.leader import Leadership
from bot.metrics import Metrics
from bot.middleware.logging import LogTiming
from bot.campaign_policy import campaign_policy
from bot.retention_job import schedule_retention
from bot.scheduler import Scheduler
from bot.delivery.sender import Sender
from bot.ingest.sync import queue_group_sync
from bot.tasks import BackgroundTasks
from campaigns import runs as campaign_runs
from campaigns.rfm import run_rfm
from console import ConsoleConfig, setup_console
from handlers.contacts import router as contacts_router
from handlers.conversations import router as conversations_router
from handlers.faq import router as faq_router
from handlers.followups import router as followups_router
from handlers.optout import router as optout_router
from handlers.service import router as service_router
from bot.policies import service_rules
from handlers.surveys import router as surveys_router
from handlers.tickets import router as tickets_router
from bot.policies import survey_policy, ticket_policy
from services.service import followups
from services.service import sla
from services.surveys import triggers as survey_triggers
from services.tickets import changes as ticket_changes
from services.churn.warning import run_churn
from services.churn.model import ChurnPolicy
from services.clock import Clock, SystemClock
from services.service.overdue import overdue_ticket_hook
from storage.db import create_db_engine, make_sessionmaker
from storage.db_errors import DatabaseUnavailable, explain, is_connection_failure
from storage.migrate import current_head
from storage.repos import cursors

log = logging.getLogger("qunke")


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the running app holds; tests and the CLI reach it through RUNTIME."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tasks: BackgroundTasks
    metrics: Metrics
    ingest: IngestWorker
    sender: Sender | None = None
    scheduler: Scheduler | None = None
    clock: Clock = field(default_factory=SystemClock)


RUNTIME: Final = web.AppKey("runtime", Runtime)
CHURN_JOB: Final = "churn"
HEALTH: Final = web.AppKey("health", HealthSources)
RFM_JOB: Final = "rfm"
CAMPAIGNS_JOB: Final = "campaigns"
FOLLOWUPS_JOB: Final = "followups"
DIGEST_JOB: Final = "followup-digest"


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    # Outermost first: every event gets one log line with its outcome and time, whatever happens inside.
    dispatcher.add_outer_middleware(LogTiming())
    dispatcher.include_router(contacts_router)
    dispatcher.include_router(conversations_router)
    # Surveys before tickets: a "差评" that answers a pending survey is a score, not a new complaint.
    dispatcher.include_router(optout_router)
    dispatcher.include_router(surveys_router)
    dispatcher.include_router(tickets_router)
    dispatcher.include_router(followups_router)
    dispatcher.include_router(service_router)
    dispatcher.include_router(faq_router)
    return dispatcher


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    wecom = settings.require_wecom()
    assert wecom.corp_id and wecom.secret and wecom.token and wecom.aes_key
    crypto = CallbackCrypto.from_settings(wecom.token, wecom.aes_key, wecom.corp_id)
    oa = settings.require_officialaccount() if settings.officialaccount.enabled else None
    archive_keys = ArchiveKeys.load(settings.archive.key_paths()) if settings.archive.enabled else None
    settings.sender.check_lease(wecom.request_timeout_s)
    clock = clock or SystemClock()
    quiet_bad_requests()
    app = web.Application()
    metrics = Metrics()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        engine = create_db_engine(settings.database.url, echo=settings.database.echo)
        await _require_schema(engine)
        sessions = make_sessionmaker(engine)
        tasks = BackgroundTasks()
        http = aiohttp.ClientSession()
        client = WeComClient(
            http,
            wecom.api_base,
            wecom.corp_id or "",
            wecom.secret or "",
            wecom.request_timeout_s,
            settings.sender.read_concurrency,
        )
        directory = WeComDirectory(client)

        def committed(rows: int) -> None:
            metrics.inbox_batch.observe(rows)
            ingest.wake()

        inbox = InboxWriter(sessions, settings.webhook.batch_max_rows, committed)
        dispatcher = build_dispatcher()
        faq = build_faq_engine(settings, http)
        features = Features(settings=settings, faq=faq, metrics=metrics)
        kf_puller = KfPuller(sessions, client, dispatcher, directory, clock, metrics, features)
        pullers: dict[type, Puller] = {KfPullRequested: kf_puller}
        archive: ArchivePuller | None = None
        if archive_keys is not None:
            source = _archive_source(settings.archive, http, wecom.api_base, wecom.corp_id or "")
            archive = ArchivePuller(
                sessions,
                source,
                archive_keys,
                dispatcher,
                directory,
                clock,
                metrics,
                limit=settings.archive.batch_limit,
                decrypt_threads=settings.archive.decrypt_threads,
                features=features,
            )
            pullers[ArchivePullRequested] = archive
        ingest = IngestWorker(
            sessions,
            dispatcher,
            directory,
            clock,
            settings.ingest,
            metrics,
            acks_pending=inbox.busy,
            pullers=pullers,
            features=features,
        )
        app[WEBHOOK_DEPS] = WebhookDeps(crypto, inbox, clock, metrics, settings.webhook.max_body_bytes)
        if oa is not None:
            app[OA_WEBHOOK_DEPS] = OaWebhookDeps(
                oa.token or "",
                WeChatCrypto(oa.token, oa.aes_key, oa.app_id),
                oa.app_id or "",
                inbox,
                clock,
                metrics,
                settings.webhook.max_body_bytes,
            )
        sender = Sender(sessions, client, _oa_client(settings, http), clock, settings, metrics)
        leadership = Leadership(engine)
        scheduler = Scheduler(tasks, settings.timezone, metrics.job_finished, leads=lambda: leadership.is_leader)
        setup_service_loop(scheduler, sessions, clock, settings)
        schedule_churn(scheduler, settings, sessions, clock)
        schedule_rfm(scheduler, settings, sessions, clock)
        schedule_campaigns(scheduler, settings, sessions, clock)
        schedule_followups(scheduler, settings, sessions, clock)
        schedule_retention(scheduler, settings, sessions, clock, metrics)
        app[RUNTIME] = Runtime(settings, engine, sessions, tasks, metrics, ingest, sender, scheduler, clock)
        await import_example_if_empty(sessions, settings, clock)  # before any worker can decide a question
        writer = tasks.spawn(inbox.run(), "inbox-writer")
        worker = tasks.spawn(ingest.run(), "ingest-worker")
        sending = tasks.spawn(sender.run(), "outbox-sender")
        tasks.spawn(warm_up(sessions, faq), "faq-warm-up")
        if settings.ingest.sync_groups_on_start:
            tasks.spawn(queue_group_sync(sessions, directory, clock, ingest.wake), "startup-group-sync")
        stop_timer = asyncio.Event()
        workers = {
            "inbox_writer": Worker(writer, inbox.streak, retries_itself=False),
            "ingest_worker": Worker(worker, ingest.streak),  # it also runs the kf puller
            "outbox_sender": Worker(sending, sender.streak),
        }
        if settings.ingest.import_contacts_on_start:
            importer = ContactImporter(sessions, directory, directory, clock, metrics)
            retry_s = settings.ingest.contact_import_retry_s
            tasks.spawn(importer.run_until_done(retry_s, stop_timer), "startup-contact-import")
        if archive is not None:
            streak = FailureStreak(log, "archive pull", recovered="archive pull working again")
            timer = _archive_timer(archive, settings.archive.poll_interval_s, stop_timer, streak)
            workers["archive_puller"] = Worker(tasks.spawn(timer, "archive-timer"), streak)
        tasks.spawn(_kf_catch_up(sessions, client, kf_puller), "kf-catch-up")
        app[HEALTH] = HealthSources(sessions, settings.database.url, settings.database.min_free_mb, scheduler, workers)
        register_service_jobs(scheduler, sessions, clock, settings)
        tasks.spawn(leadership.run(), "scheduler-leadership")
        scheduler.start()
        log.info("qunke started (database: %s)", engine.dialect.name)
        try:
            yield
        finally:
            # Order matters: stop taking callbacks, let the writer commit what it holds, let the worker finish its
            # current event, and only then cancel whatever else is left.
            scheduler.shutdown()
            leadership.stop()
            inbox.close()
            await _drain(writer, "inbox writer")
            ingest.stop()
            stop_timer.set()
            await _drain(worker, "ingest worker")
            # The sender finishes its batch (sends in flight and their records) while the client and engine live.
            sender.stop()
            await _drain(sending, "outbox sender", grace_s=2 * wecom.request_timeout_s + 5)
            await tasks.close()
            if archive is not None:
                archive.close()
                await archive.source.close()
            await http.close()
            await engine.dispose()
            log.info("qunke stopped")

    app.cleanup_ctx.append(lifecycle)
    setup_wecom_webhook(app)
    if oa is not None:
        setup_oa_webhook(app)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    if settings.console.enabled:
        console = ConsoleConfig(
            timedelta(minutes=settings.console.idle_timeout_min), settings.console.trust_proxy, settings.timezone
        )
        setup_console(app, console, lambda: app[RUNTIME].sessions, clock)
    return app


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


def _archive_source(
    settings: ArchiveSettings, http: aiohttp.ClientSession, api_base: str, corp_id: str
) -> ArchiveSource:
    if settings.source == "finance_sdk":
        if not settings.sdk_library:
            raise ConfigError(
                "archive.sdk_library: expected the path of libWeWorkFinanceSdk_C.so for source finance_sdk"
            )
        return FinanceSdkArchiveSource(
            Path(settings.sdk_library), corp_id, settings.secret or "", settings.sdk_timeout_s, settings.sdk_proxy
        )
    return SandboxArchiveSource(http, api_base, corp_id, settings.secret or "", float(settings.sdk_timeout_s) + 5)


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


async def _archive_timer(archive: ArchivePuller, interval_s: float, stop: asyncio.Event, streak: FailureStreak) -> None:
    """Pull now and then even without a notify: a lost msgaudit_notify must not leave messages behind."""
    while not stop.is_set():
        try:
            await archive.pull()
            streak.succeeded()
        except ArchiveSourceError as exc:
            log.warning("archive pull failed (%s); next try in %.0f s", exc, interval_s)
        except Exception as exc:  # the database, most likely: one line per failure kind while it lasts
            streak.failed(exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


async def _kf_catch_up(sessions: async_sessionmaker[AsyncSession], client: WeComClient, puller: KfPuller) -> None:
    """Pull each kf account the bot has pulled before, once at start: messages that came while the bot was down were
    announced by callbacks WeCom stopped retrying, and would otherwise wait for the customer's next message. (An
    account never pulled keeps today's behaviour: its first callback starts it.)"""
    try:
        answer = await client.post("/cgi-bin/kf/account/list", {"offset": 0, "limit": 100})
        accounts = [str(a.get("open_kfid", "")) for a in answer.get("account_list") or [] if isinstance(a, dict)]
        async with sessions() as session:
            accounts = [kfid for kfid in accounts if kfid and await cursors.read(session, cursor_name(kfid))]
    except Exception as exc:
        log.warning("kf catch-up at start skipped: kf/account/list failed (%s)", exc)
        return
    for open_kfid in accounts:
        try:
            read = await puller.pull(open_kfid, "")
        except Exception as exc:
            log.warning("kf catch-up of %s at start failed (%s); the next callback resumes it", open_kfid, exc)
            continue
        if read:
            log.info("kf catch-up at start: %d items read for %s", read, open_kfid)


async def _drain(task: asyncio.Task[None], name: str, grace_s: float = 10) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=grace_s)
    except TimeoutError:
        log.error("%s did not finish within %.0f s; cancelling it", name, grace_s)


def _oa_client(settings: Settings, http: aiohttp.ClientSession) -> OfficialAccountClient | None:
    """The OA client when the Official Account is configured; it shares the bot's one ClientSession."""
    oa = settings.officialaccount
    if not oa.enabled or not oa.secret:
        return None
    return OfficialAccountClient(http, oa.api_base, oa.app_id or "", oa.secret, oa.request_timeout_s)


async def _require_schema(engine: AsyncEngine) -> None:
    """Connect first, then read the schema version: "cannot connect" must never pass for "not migrated"."""
    head = current_head()
    try:
        async with engine.connect() as conn:
            try:
                version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
            except DBAPIError as exc:  # no alembic_version table: never migrated (unless the connection broke)
                if exc.connection_invalidated or is_connection_failure(exc):
                    raise
                version = None
    except Exception as exc:
        raise DatabaseUnavailable(explain(exc) or f"cannot use the database: {type(exc).__name__}: {exc}") from exc
    if version is None:
        raise DatabaseUnavailable("the database has no Qunke schema yet (never migrated): run `qunke db upgrade` first")
    if version != head:
        raise DatabaseUnavailable(f"database schema is at {version}, expected {head}: run `qunke db upgrade` first")


async def _healthz(request: web.Request) -> web.Response:
    """200 or 503 with the reasons (bot/health.py); never a 500, whatever state the database is in."""
    status, body = await health_report(request.app[HEALTH])
    runtime = request.app[RUNTIME]
    body["background_tasks"] = len(runtime.tasks)
    if status == 200:
        try:
            async with runtime.sessions() as session:
                body["handoffs"] = await pool_health(session, runtime.settings.service.managers, runtime.clock.now())
        except Exception as exc:  # health must answer even when this detail cannot be read
            body["handoffs"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return web.json_response(body, status=status)


async def _metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[RUNTIME].metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


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
