"""setup_chat: wires the chat archive, its notifier and pull endpoint, and the Official Account into the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from sandbox import appkeys
from sandbox.archive.api import setup_archive_api
from sandbox.archive.faults import SdkFaults
from sandbox.archive.messages import MsgIds
from sandbox.archive.notify import ArchiveNotifier
from sandbox.archive.store import ChatArchive
from sandbox.oa.api import setup_oa_api
from sandbox.oa.callbacks import OACallbackSender
from sandbox.oa.model import OAIds, seed_followers
from sandbox.oa.template import setup_oa_template
from sandbox.oa.userinfo import setup_oa_user_info
from sandbox.qyapi.tokens import TokenStore


async def _chat_ctx(app: web.Application) -> AsyncIterator[None]:
    """Registered after the WeCom sender's context, so it starts after it and stops before it."""
    notifier, oa_sender = app[appkeys.NOTIFIER], app[appkeys.OA_SENDER]
    await notifier.start()
    await oa_sender.start()
    try:
        yield
    finally:
        await notifier.close()
        await oa_sender.close(drain_s=app[appkeys.CONFIG].callback_timeout_s)


def setup_chat(app: web.Application) -> None:
    """Needs CONFIG, CLOCK, CORP, LOG and SENDER in place."""
    config, clock, sender = app[appkeys.CONFIG], app[appkeys.CLOCK], app[appkeys.SENDER]
    app[appkeys.ARCHIVE] = ChatArchive(clock, config.archive.public_key_pem, config.archive.key_version)
    app[appkeys.MSGIDS] = MsgIds()
    app[appkeys.ARCHIVE_FAULTS] = SdkFaults()
    notifier = ArchiveNotifier(clock, config.archive.notify_interval_s, config.agent_id, sender.submit)
    app[appkeys.NOTIFIER] = notifier
    app[appkeys.OA] = seed_followers(app[appkeys.CORP], OAIds(config.seed), clock.epoch())
    app[appkeys.OA_TOKENS] = TokenStore(clock, config.token_ttl_s)
    # The OA sender reads the WeCom sender's chaos each time, so /sandbox/chaos changes both.
    app[appkeys.OA_SENDER] = OACallbackSender(config, app[appkeys.LOG], clock, lambda: sender.chaos)
    if appkeys.CLOCK_LISTENERS not in app:
        app[appkeys.CLOCK_LISTENERS] = []
    app[appkeys.CLOCK_LISTENERS].append(notifier.flush)
    setup_archive_api(app)
    setup_oa_api(app)
    setup_oa_user_info(app)
    setup_oa_template(app)
    app.cleanup_ctx.append(_chat_ctx)
