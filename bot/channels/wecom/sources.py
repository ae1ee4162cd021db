"""The WeCom sources step of `create_app`: the kf puller, the chat-archive puller with its timer, the kf catch-up.

Wiring, not a channel: it hands the channels ingest's page loop (the import-linter contract exempts it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.channels.wecom.archive import (
    ArchiveKeys,
    ArchiveSource,
    ArchiveSourceError,
    FinanceSdkArchiveSource,
    SandboxArchiveSource,
)
from bot.channels.wecom.archive_puller import ArchivePuller
from bot.channels.wecom.kf import KfPuller, cursor_name
from bot.config.base import ConfigError
from bot.config.platform import ArchiveSettings
from bot.config.settings import Settings
from bot.events import ArchivePullRequested, Event, KfPullRequested
from bot.failure_streak import FailureStreak
from bot.health import Worker
from bot.ingest.pulls import PageLoop
from bot.ingest.worker import Puller
from bot.runtime import CORE, DISPATCHER, FEATURES, PULLERS, Core
from bot.tasks import drain
from storage.repos import cursors

log = logging.getLogger("qunke")


def setup_wecom_sources(app: web.Application, settings: Settings) -> None:
    """Reads the archive keys now, so a bad key path fails `create_app`, not the first pull."""
    archive_keys = ArchiveKeys.load(settings.archive.key_paths()) if settings.archive.enabled else None

    async def sources(app: web.Application) -> AsyncIterator[None]:
        core, dispatcher, features = app[CORE], app[DISPATCHER], app[FEATURES]
        wecom = settings.wecom
        # The channels read pages; ingest's loop stores and dispatches them with their cursors.
        pages = PageLoop(core.sessions, dispatcher, core.directory, core.clock, core.metrics, features)
        kf_puller = KfPuller(core.client, core.metrics, pages)
        pullers: dict[type[Event], Puller] = {KfPullRequested: kf_puller}
        app[PULLERS] = pullers
        archive: ArchivePuller | None = None
        stop_timer = asyncio.Event()
        timer: asyncio.Task[None] | None = None
        if archive_keys is not None:
            source = _archive_source(settings.archive, core.http, wecom.api_base, wecom.corp_id or "")
            archive = ArchivePuller(
                source,
                archive_keys,
                core.metrics,
                pages,
                limit=settings.archive.batch_limit,
                decrypt_threads=settings.archive.decrypt_threads,
            )
            pullers[ArchivePullRequested] = archive
            streak = FailureStreak(log, "archive pull", recovered="archive pull working again")
            timer = core.tasks.spawn(
                _archive_timer(archive, settings.archive.poll_interval_s, stop_timer, streak), "archive-timer"
            )
            core.workers["archive_puller"] = Worker(timer, streak)
        core.tasks.spawn(_kf_catch_up(core, kf_puller), "kf-catch-up")
        yield
        # Set up before ingest, so this runs once the ingest worker (which also runs these pullers) has drained.
        stop_timer.set()
        if archive is not None and timer is not None:
            await drain(timer, "archive timer")
            archive.close()
            await archive.source.close()

    app.cleanup_ctx.append(sources)


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


async def _kf_catch_up(core: Core, puller: KfPuller) -> None:
    """Pull each kf account the bot has pulled before, once at start: messages that came while the bot was down were
    announced by callbacks WeCom stopped retrying, and would otherwise wait for the customer's next message. (An
    account never pulled keeps today's behaviour: its first callback starts it.)"""
    try:
        answer = await core.client.post("/cgi-bin/kf/account/list", {"offset": 0, "limit": 100})
        accounts = [str(a.get("open_kfid", "")) for a in answer.get("account_list") or [] if isinstance(a, dict)]
        async with core.sessions() as session:
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
