"""Wiring for the sending side: message/send, 企业群发, the limits and fault rings, and their admin endpoints."""

from __future__ import annotations

from aiohttp import web

from sandbox import appkeys
from sandbox.admin.faults import setup_admin_faults
from sandbox.admin.mass import setup_admin_mass
from sandbox.faults import FaultBook
from sandbox.mass.api import setup_qyapi_mass
from sandbox.mass.engine import MassEngine
from sandbox.mass.reps import setup_mass_reps
from sandbox.messages.api import setup_qyapi_message
from sandbox.messages.dedupe import DuplicateChecker
from sandbox.messages.quota import AppMessageQuota
from sandbox.qyapi import keys as send_keys
from sandbox.qyapi.limits import get_limits
from sandbox.qyapi.ratelimit import ApiLimiter


def setup_sandbox_send(app: web.Application) -> None:
    """Needs CONFIG, CORP, LOG and CLOCK set; the two middlewares are listed in create_app."""
    config = app[appkeys.CONFIG]
    app[send_keys.QUOTA] = AppMessageQuota(config.account_cap)
    app[send_keys.DUPLICATES] = DuplicateChecker()
    app[send_keys.MASS] = MassEngine(app[appkeys.CORP], app[appkeys.LOG], app[appkeys.CLOCK], config)
    app[send_keys.LIMITER] = ApiLimiter(config.api_limit_per_min, config.api_limit_per_hour, config.read_concurrency)
    app[send_keys.FAULTS] = FaultBook()
    setup_qyapi_message(app)
    setup_qyapi_mass(app)
    setup_admin_mass(app)
    setup_mass_reps(app)
    setup_admin_faults(app)
    app.router.add_get("/sandbox/limits", get_limits)
