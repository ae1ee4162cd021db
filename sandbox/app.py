"""create_app: the sandbox's composition root, wiring state, qyapi, admin API, page and the callback sender."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from sandbox.oauth.login import setup_oauth

from . import appkeys
from .admin import setup_admin
from .admin_kf import setup_admin_kf
from .callbacks import CallbackSender, Chaos
from .chat_app import setup_chat
from .clock import Clock, OffsetClock
from .config import SandboxConfig
from .crypto import CallbackCrypto
from .feed import setup_feed
from .group_lag import GroupLag
from .ids import IdFactory
from .kf_seed import build_kf_store
from .log import DeliveryLog
from .page import setup_page
from .qyapi_auth import qyapi_middleware, setup_qyapi_auth
from .qyapi_contact import setup_qyapi_contact
from .qyapi_contact_batch import setup_qyapi_contact_batch
from .qyapi_contact_tags import setup_qyapi_contact_tags
from .qyapi_faults import faults_middleware
from .qyapi_groupchat import setup_qyapi_groupchat
from .qyapi_kf import setup_qyapi_kf
from .qyapi_limits import limits_middleware
from .qyapi_welcome import setup_qyapi_welcome
from .seed import build_demo_corp
from .send_setup import setup_sandbox_send
from .state_file import setup_state_file, state_middleware
from .tokens import TokenStore

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
