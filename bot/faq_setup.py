"""The FAQ engine for a running bot: built from settings, the demo KB imported into an empty database, warmed up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.embeddings import embedder_from_settings
from bot.runtime import CORE, FAQ_ENGINE
from services.clock import Clock
from services.faq import kb
from services.faq.engine import Deciding, FaqEngine
from services.faq.types import KbItem
from storage.db_errors import explain as explain_database_error
from storage.repos import kb as kb_repo

log = logging.getLogger("qunke.faq")


def setup_faq(app: web.Application) -> None:
    """The FAQ engine, with the demo KB imported into an empty database before any worker can decide a question."""

    async def faq(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        app[FAQ_ENGINE] = engine = build_faq_engine(core.settings, core.http)
        await import_example_if_empty(core.sessions, core.settings, core.clock)
        core.tasks.spawn(warm_up(core.sessions, engine), "faq-warm-up")
        yield

    app.cleanup_ctx.append(faq)


def build_faq_engine(settings: Settings, http: aiohttp.ClientSession) -> FaqEngine:
    """The engine with the configured thresholds and, when `faq.embedder.url` is set, the semantic scorer."""
    from services.faq.matcher import build_matcher_async  # numpy and bm25s load here, not at import time

    matcher_settings = settings.faq.matcher_settings()
    embedder = embedder_from_settings(http, settings.faq.embedder)

    async def build(items: Sequence[KbItem]) -> Deciding:
        return await build_matcher_async(items, matcher_settings, embedder)

    return FaqEngine(build)


async def import_example_if_empty(sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock) -> None:
    """Before the workers start, so the first question already sees the demo KB; a bad file is logged, not fatal."""
    if not settings.faq.example_kb:
        return
    try:
        await _import_example(sessions, Path(settings.faq.example_kb), clock)
    except Exception:
        log.exception(
            "faq.example_kb: could not import %s; starting with the knowledge base as it is", settings.faq.example_kb
        )


async def warm_up(sessions: async_sessionmaker[AsyncSession], engine: FaqEngine) -> None:
    """Build the matcher once in the background (jieba's first load takes a moment); a question waits for it."""
    try:
        async with sessions() as session:
            await engine.refresh(session)
    except Exception as exc:
        database = explain_database_error(exc) or (f"{type(exc).__name__}" if isinstance(exc, DBAPIError) else None)
        if database is None:
            log.exception("FAQ warm-up failed; the matcher is built on the first question instead")
        else:  # an outage is logged by the workers that keep retrying; one line is enough here
            log.warning("FAQ warm-up skipped (%s); the matcher is built on the first question instead", database)


async def _import_example(sessions: async_sessionmaker[AsyncSession], path: Path, clock: Clock) -> None:
    async with sessions() as session, session.begin():
        if await kb_repo.count_entries(session) > 0:
            return
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError:
            log.warning("faq.example_kb: no file at %s; starting with an empty knowledge base", path)
            return
        report = await kb.import_items(session, kb.parse_yaml(text, str(path)), clock.now())
        log.info("the knowledge base was empty: imported %d entries from %s", len(report.added), path)
