"""The ingest step of `create_app`: the inbox writer, the ingest worker, the start-up group sync and contact import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.duties import DUTIES
from bot.health import Worker
from bot.ingest.contact_import import ContactImporter
from bot.ingest.decoders import Decoders
from bot.ingest.inbox import InboxWriter
from bot.ingest.startup_import import import_when_leading
from bot.ingest.startup_sync import sync_groups_until_done
from bot.ingest.worker import IngestWorker
from bot.runtime import CORE, DECODERS, DISPATCHER, FEATURES, INBOX, PULLERS
from bot.tasks import drain


def inbox_pressed(inbox: InboxWriter) -> Callable[[], bool]:
    return lambda: inbox.backlogged() or inbox.rushing()


def setup_ingest(app: web.Application) -> None:
    """On shutdown: stop taking callbacks, let the writer commit what it holds, let the worker finish its current
    event; the parts set up before it (delivery, the sources) stop after it. The decoder registry exists from now
    on, so the channel steps after this one register their decoders before the worker takes its first row."""
    app[DECODERS] = decoders = Decoders()

    async def ingest_step(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        settings = core.settings

        def committed(rows: int) -> None:
            core.metrics.inbox_batch.observe(rows)
            ingest.wake()

        webhook = settings.webhook
        inbox = InboxWriter(core.sessions, webhook.batch_max_rows, committed, webhook.ack_timeout_s)
        ingest = IngestWorker(
            core.sessions,
            app[DISPATCHER],
            core.directory,
            core.clock,
            settings.ingest,
            core.metrics,
            app[FEATURES],
            decoders,
            # SQLite: a worker transaction holds the one write lock the acks need, so it steps aside while callbacks
            # flow. PostgreSQL: acks never wait for the worker's locks, only for a turn on the loop; stepping aside
            # whenever one was written in the last 20 ms spent ~60 % of the claim loops' time under a steady 100/s
            # (bench/load_test.py), so there the worker steps aside only while callbacks queue.
            # PostgreSQL: the worker also steps aside, and ends a batch in progress, while callbacks rush in (a
            # burst far above a steady day's rate): then the loop's CPU is what the acks wait for.
            acks_pending=inbox.busy if core.engine.dialect.name == "sqlite" else inbox_pressed(inbox),
            acks_piling=inbox.rushing,
            pullers=app[PULLERS],
        )
        app[INBOX] = inbox
        writer = core.tasks.spawn(inbox.run(), "inbox-writer")
        worker = core.tasks.spawn(ingest.run(), "ingest-worker")
        core.workers["inbox_writer"] = Worker(writer, inbox.streak, retries_itself=False)
        core.workers["ingest_worker"] = Worker(worker, ingest.streak)  # it also runs the kf puller
        stop_import = asyncio.Event()
        steps: list[Callable[[], Awaitable[None]]] = []
        retry_s = settings.ingest.contact_import_retry_s
        if settings.ingest.sync_groups_on_start:

            async def sync_groups() -> None:
                await sync_groups_until_done(
                    core.sessions, core.directory, core.clock, ingest.wake, core.metrics, retry_s, stop_import
                )

            steps.append(sync_groups)
        if settings.ingest.import_contacts_on_start:
            importer = ContactImporter(core.sessions, core.directory, core.directory, core.clock, core.metrics)

            async def import_contacts() -> None:
                await importer.run_until_done(retry_s, stop_import)

            steps.append(import_contacts)
        if steps:  # once across processes: by the one leading "import" (bot/ingest/startup_import.py)
            leadership = app[DUTIES]["import"]
            run = import_when_leading(leadership, core.sessions, core.clock, steps, stop_import)
            core.tasks.spawn(run, "startup-import")
        yield
        inbox.close()
        await drain(writer, "inbox writer")
        ingest.stop()
        stop_import.set()
        await drain(worker, "ingest worker")
        app[DUTIES].stop("import")

    app.cleanup_ctx.append(ingest_step)
