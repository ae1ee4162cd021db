"""The WeCom sources step of `create_app`: the kf puller, the chat-archive puller with its timer, the kf catch-up.

Wiring, not a channel: it hands the channels ingest's page loop (the import-linter contract exempts it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.channels.apiclient import ApiError, ApiUnavailable
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
from bot.duties import DUTIES
from bot.events import ArchivePullRequested, Event, KfPullRequested
from bot.failure_streak import FailureStreak
from bot.health import Worker
from bot.ingest.pulls import PageLoop
from bot.ingest.worker import Puller
from bot.pull_duty import PullDuty
from bot.runtime import CORE, DISPATCHER, FEATURES, PULLERS, Core
from bot.tasks import drain
from storage.repos import cursors

log = logging.getLogger("qunke")


def setup_wecom_sources(app: web.Application, settings: Settings) -> None:
    """Reads the archive keys now, so a bad key path fails `create_app`, not the first pull."""
    archive_keys = ArchiveKeys.load(settings.archive.key_paths()) if settings.archive.enabled else None

    async def sources(app: web.Application) -> AsyncIterator[None]:
        core, dispatcher, features, duties = app[CORE], app[DISPATCHER], app[FEATURES], app[DUTIES]
        # The channels read pages; ingest's loop stores and dispatches them with their cursors.
        pages = PageLoop(core.sessions, dispatcher, core.directory, core.clock, core.metrics, features)
        kf_puller = KfPuller(core.client, core.metrics, pages)

        async def kf_catch_up() -> None:
            await _kf_catch_up(core, kf_puller)

        # Only the process leading "kf" pulls (a cursor is never advanced by two); gaining the lead catches up.
        kf = PullDuty(
            "kf",
            duties["kf"],
            core.sessions,
            core.clock,
            kf_puller.pull,
            on_gain=kf_catch_up,
            soft_errors=(ApiError, ApiUnavailable),
        )
        pullers: dict[type[Event], Puller] = {KfPullRequested: _kf_trigger(kf)}
        app[PULLERS] = pullers
        stop = asyncio.Event()
        loops = [core.tasks.spawn(kf.run(stop), "kf-duty")]
        core.workers["kf_puller"] = Worker(loops[0], kf.streak)
        archive = None if archive_keys is None else _start_archive(app, settings, archive_keys, pages, stop, loops)
        yield
        # Set up before ingest, so this runs once the ingest worker (which also runs these pullers) has drained.
        stop.set()
        for loop in loops:
            await drain(loop, loop.get_name())
        duties.stop("kf")
        if archive is not None:
            duties.stop("archive")
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


def _start_archive(
    app: web.Application,
    settings: Settings,
    keys: ArchiveKeys,
    pages: PageLoop,
    stop: asyncio.Event,
    loops: list[asyncio.Task[None]],
) -> ArchivePuller:
    """The archive puller, pulled by its timer and by triggers, only on the process leading "archive"."""
    core, duties = app[CORE], app[DUTIES]
    archive = _archive_puller(app, settings, keys, pages)
    pulls = archive.pull

    async def archive_pull(_target: str, _token: str) -> int:
        return await pulls()

    led = PullDuty("archive", duties["archive"], core.sessions, core.clock, archive_pull)
    app[PULLERS][ArchivePullRequested] = _archive_trigger(led)
    recovered = "archive pull working again (or led by another process now)"
    streak = FailureStreak(log, "archive pull", recovered=recovered)
    interval_s, leads = settings.archive.poll_interval_s, lambda: duties["archive"].is_leader
    timer = core.tasks.spawn(_archive_timer(archive, interval_s, stop, streak, leads), "archive-timer")
    loops += [timer, core.tasks.spawn(led.run(stop), "archive-duty")]
    core.workers["archive_puller"] = Worker(timer, streak)
    return archive


def _archive_puller(app: web.Application, settings: Settings, keys: ArchiveKeys, pages: PageLoop) -> ArchivePuller:
    core = app[CORE]
    source = _archive_source(settings.archive, core.http, settings.wecom.api_base, settings.wecom.corp_id or "")
    return ArchivePuller(
        source,
        keys,
        core.metrics,
        pages,
        limit=settings.archive.batch_limit,
        decrypt_threads=settings.archive.decrypt_threads,
    )


def _kf_trigger(duty: PullDuty) -> Puller:
    async def trigger(event: Event) -> None:
        assert isinstance(event, KfPullRequested)
        await duty.trigger(event.open_kfid, event.token)

    return trigger


def _archive_trigger(duty: PullDuty) -> Puller:
    async def trigger(event: Event) -> None:
        await duty.trigger("", "")

    return trigger


async def _archive_timer(
    archive: ArchivePuller,
    interval_s: float,
    stop: asyncio.Event,
    streak: FailureStreak,
    leads: Callable[[], bool],
) -> None:
    """Pull now and then even without a notify: a lost msgaudit_notify must not leave messages behind. Only the
    process leading "archive" pulls; a follower's loop only waits (it checks again every interval)."""
    while not stop.is_set():
        if not leads():
            streak.succeeded()  # a failure while leading is not this follower's: /healthz must not 503
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(interval_s, 1.0))
            continue
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
