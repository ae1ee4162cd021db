"""What the setup steps build and hand each other through typed app keys, and the first step: the core they share."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import aiohttp
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.wecom.client import WeComClient
from bot.channels.wecom.directory import WeComDirectory
from bot.config.settings import Settings
from bot.dispatch import Dispatcher, Features
from bot.events import Event
from bot.health import HealthSources, Worker
from bot.ingest.decoders import Decoders
from bot.ingest.inbox import InboxWriter
from bot.leader import process_identity
from bot.metrics import Metrics
from bot.tasks import BackgroundTasks
from services.clock import Clock
from services.faq.engine import FaqEngine
from storage.db import create_db_engine, make_sessionmaker
from storage.db_errors import DatabaseUnavailable, explain, is_connection_failure
from storage.migrate import current_head

log = logging.getLogger("qunke")


@dataclass(frozen=True, slots=True)
class Core:
    """What every part of the running bot shares: settings, clock, metrics, the database, tasks and the WeCom client."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tasks: BackgroundTasks
    http: aiohttp.ClientSession  # the bot's one ClientSession
    client: WeComClient
    directory: WeComDirectory
    workers: dict[str, Worker] = field(default_factory=dict)  # each step adds the loops /healthz watches


CORE: Final = web.AppKey("core", Core)
DISPATCHER: Final = web.AppKey("dispatcher", Dispatcher)
FEATURES: Final = web.AppKey("features", Features)
# What pulls a source when its event arrives (bot.ingest.worker.Puller, spelled out to keep this module low).
PULLERS: Final = web.AppKey[dict[type[Event], Callable[[Event], Awaitable[None]]]]("pullers")
INBOX: Final = web.AppKey("inbox", InboxWriter)
DECODERS: Final = web.AppKey("decoders", Decoders)  # set by setup_ingest; channels register into it
HEALTH: Final = web.AppKey("health", HealthSources)
FAQ_ENGINE: Final = web.AppKey("faq_engine", FaqEngine)


def setup_core(app: web.Application, settings: Settings, clock: Clock, metrics: Metrics) -> None:
    """The database (refusing an unmigrated schema), the tracked tasks, the ClientSession and the WeCom client;
    closed last, after every other part has stopped."""

    async def core(app: web.Application) -> AsyncIterator[None]:
        wecom = settings.wecom
        name = f"qunke {process_identity()}"  # who leads what, as followers read it (bot/duties.py)
        engine = create_db_engine(settings.database.url, echo=settings.database.echo, application_name=name)
        await _require_schema(engine)
        http = aiohttp.ClientSession()
        client = WeComClient(
            http,
            wecom.api_base,
            wecom.corp_id or "",
            wecom.secret or "",
            wecom.request_timeout_s,
            settings.sender.read_concurrency,
        )
        tasks = BackgroundTasks()
        sessions = make_sessionmaker(engine)
        app[CORE] = Core(settings, clock, metrics, engine, sessions, tasks, http, client, WeComDirectory(client))
        try:
            yield
        finally:
            await tasks.close()
            await http.close()
            await engine.dispose()
            log.info("qunke stopped")

    app.cleanup_ctx.append(core)


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
