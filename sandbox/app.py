"""create_app: the sandbox's composition root, wiring state, qyapi, admin API, page and the callback sender."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from sandbox import appkeys
from sandbox.admin.controls import setup_admin
from sandbox.admin.kf import setup_admin_kf
from sandbox.archive.setup import setup_chat
from sandbox.callbacks import CallbackSender, Chaos
from sandbox.clock import Clock, OffsetClock
from sandbox.config import SandboxConfig
from sandbox.contacts.api import setup_qyapi_contact
from sandbox.contacts.batch_api import setup_qyapi_contact_batch
from sandbox.contacts.group_lag import GroupLag
from sandbox.contacts.groups_api import setup_qyapi_groupchat
from sandbox.contacts.seed import build_demo_corp
from sandbox.contacts.tags_api import setup_qyapi_contact_tags
from sandbox.contacts.welcome_api import setup_qyapi_welcome
from sandbox.crypto import CallbackCrypto
from sandbox.delivery.log import DeliveryLog
from sandbox.ids import IdFactory
from sandbox.kf.api import setup_qyapi_kf
from sandbox.kf.seed import build_kf_store
from sandbox.oauth.login import setup_oauth
from sandbox.qyapi.auth import qyapi_middleware, setup_qyapi_auth
from sandbox.qyapi.faults import faults_middleware
from sandbox.qyapi.limits import limits_middleware
from sandbox.qyapi.tokens import TokenStore
from sandbox.sending import setup_sandbox_send
from sandbox.state.file import setup_state_file, state_middleware
from sandbox.web.feed import setup_feed
from sandbox.web.page import setup_page

# WeCom bodies are small JSON; this mirrors a sane API gateway limit rather than aiohttp's 1 MiB default.
MAX_BODY_BYTES = 256 * 1024


async def _delivery_ctx(app: web.Application) -> AsyncIterator[None]:
    """The log writer starts before the sender and stops after it, so the last attempts reach the file."""
    log = app[appkeys.LOG]
    sender = app[appkeys.SENDER]
    await log.start()
    await sender.start()
    try:
        yield
    finally:
        await sender.close(drain_s=app[appkeys.CONFIG].callback_timeout_s)
        await log.close()


def create_app(config: SandboxConfig, clock: Clock | None = None, fresh: bool = False) -> web.Application:
    """With config.state_file, the saved corp replaces the seed (unless `fresh`); StateFileError if unusable."""
    clock = clock or OffsetClock()
    ids = IdFactory(config.seed)
    log = DeliveryLog(clock, config.log_file)
    crypto = CallbackCrypto(config.token, config.aes_key, config.corp_id)
    # Outside in: WeCom's rate limits refuse a call first (45009/45033), then injected faults answer or drop it,
    # then the access_token gate and errcode rendering wrap the API itself.
    # The state middleware is outermost so even refused calls schedule a save (they change the rate windows).
    middlewares = [state_middleware, limits_middleware, faults_middleware, qyapi_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app[appkeys.CONFIG] = config
    app[appkeys.CLOCK] = clock
    app[appkeys.IDS] = ids
    app[appkeys.CORP] = build_demo_corp(config.corp_id, ids, clock.epoch())
    app[appkeys.KF] = build_kf_store(app[appkeys.CORP], ids)
    app[appkeys.TOKENS] = TokenStore(clock, config.token_ttl_s)
    app[appkeys.GROUP_LAG] = GroupLag(clock, config.groupchat_lag_s)
    app[appkeys.LOG] = log
    app[appkeys.SENDER] = CallbackSender(config, crypto, log, clock, Chaos.from_config(config))
    setup_qyapi_auth(app)
    setup_qyapi_contact(app)
    setup_qyapi_contact_tags(app)
    setup_qyapi_welcome(app)
    setup_qyapi_contact_batch(app)
    setup_qyapi_groupchat(app)
    setup_qyapi_kf(app)
    setup_oauth(app)
    # Before setup_admin: /sandbox/act/confirm-task must be routed ahead of the generic /sandbox/act/{action}.
    setup_sandbox_send(app)
    setup_admin(app)
    setup_admin_kf(app)
    setup_page(app)
    app.cleanup_ctx.append(_delivery_ctx)
    setup_chat(app)
    if config.state_file is not None:
        setup_state_file(app, config.state_file, fresh)
    setup_feed(app)
    return app
