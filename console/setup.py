"""Mounting the console: a sub-application at /console with its templates, static files and middleware."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console import (
    admin,
    auth,
    campaigns,
    followups,
    groups,
    kb,
    not_found,
    pages,
    privacy,
    reports,
    segments,
    tickets,
    trend_reports,
    wecom_login,
)
from console.deps import CONSOLE, ConsoleConfig, ConsoleDeps
from console.filters import FILTERS
from services.clock import Clock, SystemClock

HERE = Path(__file__).parent


def setup_console(
    app: web.Application,
    config: ConsoleConfig,
    sessions: Callable[[], async_sessionmaker[AsyncSession]],
    clock: Clock | None = None,
) -> web.Application:
    """Mount /console on `app`; `sessions` is called per request (the app's sessionmaker exists only once started)."""
    console = web.Application(middlewares=[not_found.chinese_not_found, auth.session_middleware])
    console[CONSOLE] = ConsoleDeps(config, sessions, clock or SystemClock())
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    env.globals["timezone"] = config.timezone
    console.router.add_static("/static", HERE / "static", name="static")
    auth.add_routes(console)
    wecom_login.add_routes(console)
    pages.add_routes(console)
    groups.add_routes(console)
    kb.add_routes(console)
    tickets.add_routes(console)
    followups.add_routes(console)
    segments.add_routes(console)
    campaigns.add_routes(console)
    admin.add_routes(console)
    privacy.add_routes(console)
    trend_reports.add_routes(console)
    reports.add_routes(console)
    not_found.add_routes(console)
    app.add_subapp("/console", console)

    async def to_console(_: web.Request) -> web.Response:
        raise web.HTTPFound("/console/")

    app.router.add_get("/console", to_console)
    app.router.add_get("/", to_console)
    return console
