"""The callback step of `create_app`: the WeCom and Official Account callback routes, fed into the inbox, and the
decoders that turn their stored rows into events. Wiring, not a channel (the import-linter contract exempts it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from bot.channels.officialaccount.client import OA_CLIENT
from bot.channels.officialaccount.followers import FollowerUnionids
from bot.channels.officialaccount.normalize import event_from_oa_payload
from bot.channels.officialaccount.webhook import OA_WEBHOOK_DEPS, OaWebhookDeps, setup_oa_webhook
from bot.channels.officialaccount.webhook import SOURCE as OA_SOURCE
from bot.channels.wecom.crypto import CallbackCrypto
from bot.channels.wecom.normalize import event_from_payload
from bot.channels.wecom.webhook import SOURCE, WEBHOOK_DEPS, WebhookDeps, setup_wecom_webhook
from bot.config.settings import Settings
from bot.runtime import CORE, DECODERS, INBOX


def setup_webhooks(app: web.Application, settings: Settings) -> None:
    """Routes now and the callback keys checked now (a bad key fails `create_app`); their dependencies once the
    inbox exists, before the server takes a request."""
    wecom = settings.require_wecom()
    assert wecom.corp_id and wecom.secret and wecom.token and wecom.aes_key
    crypto = CallbackCrypto.from_settings(wecom.token, wecom.aes_key, wecom.corp_id)
    oa = settings.require_officialaccount() if settings.officialaccount.enabled else None

    async def webhooks(app: web.Application) -> AsyncIterator[None]:
        core, inbox = app[CORE], app[INBOX]
        max_body = settings.webhook.max_body_bytes
        app[WEBHOOK_DEPS] = WebhookDeps(crypto, inbox, core.clock, core.metrics, max_body)
        if oa is not None:
            oa_crypto = WeChatCrypto(oa.token, oa.aes_key, oa.app_id)
            app[OA_WEBHOOK_DEPS] = OaWebhookDeps(
                oa.token or "", oa_crypto, oa.app_id or "", inbox, core.clock, core.metrics, max_body
            )
        yield

    app.cleanup_ctx.append(webhooks)
    # How the worker reads back what these routes store (setup_ingest made the registry, before any worker runs).
    # The OA decoder is registered even with the OA off: rows stored while it was on are still read.
    app[DECODERS].register(SOURCE, event_from_payload)
    app[DECODERS].register(OA_SOURCE, event_from_oa_payload)
    # A new follower's unionid from the OA's user/info, so one who is a WeCom customer joins that profile.
    app[DECODERS].add_enricher(FollowerUnionids(lambda: app.get(OA_CLIENT), lambda: app[CORE].metrics))
    setup_wecom_webhook(app)
    if oa is not None:
        setup_oa_webhook(app)
