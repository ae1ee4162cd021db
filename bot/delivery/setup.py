"""The delivery step of `create_app`: the outbox sender, started with the bot and drained before the client closes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.channels.officialaccount.client import OA_CLIENT, OfficialAccountClient
from bot.config.settings import Settings
from bot.delivery.sender import Sender
from bot.health import Worker
from bot.runtime import CORE
from bot.tasks import drain


def setup_delivery(app: web.Application) -> None:
    """Set up before ingest, so it stops after it: replies the last events queued still go out."""

    async def delivery(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        settings = core.settings
        oa_client = _oa_client(settings, core.http)
        if oa_client is not None:
            app[OA_CLIENT] = oa_client
        sender = Sender(core.sessions, core.client, oa_client, core.clock, settings, core.metrics)
        sending = core.tasks.spawn(sender.run(), "outbox-sender")
        core.workers["outbox_sender"] = Worker(sending, sender.streak)
        yield
        # The sender finishes its batch (sends in flight and their records) while the client and engine live.
        sender.stop()
        await drain(sending, "outbox sender", grace_s=2 * settings.wecom.request_timeout_s + 5)

    app.cleanup_ctx.append(delivery)


def _oa_client(settings: Settings, http: aiohttp.ClientSession) -> OfficialAccountClient | None:
    """The OA client when the Official Account is configured; it shares the bot's one ClientSession."""
    oa = settings.officialaccount
    if not oa.enabled or not oa.secret:
        return None
    return OfficialAccountClient(http, oa.api_base, oa.app_id or "", oa.secret, oa.request_timeout_s)
