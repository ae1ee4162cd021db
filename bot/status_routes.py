"""The status step of `create_app`: /healthz (200 or 503 with reasons) and /metrics (Prometheus)."""

from __future__ import annotations

from aiohttp import web

from bot.delivery.kf_handoff import pool_health
from bot.duties import DUTIES
from bot.health import health_report
from bot.runtime import CORE, HEALTH


def setup_status_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)


async def _healthz(request: web.Request) -> web.Response:
    """200 or 503 with the reasons (bot/health.py); never a 500, whatever state the database is in."""
    status, body = await health_report(request.app[HEALTH])
    core = request.app[CORE]
    body["background_tasks"] = len(core.tasks)
    body["leadership"] = await request.app[DUTIES].report()  # which process leads what; never raises
    if status == 200:
        try:
            async with core.sessions() as session:
                body["handoffs"] = await pool_health(session, core.settings.service.managers, core.clock.now())
        except Exception as exc:  # health must answer even when this detail cannot be read
            body["handoffs"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return web.json_response(body, status=status)


async def _metrics(request: web.Request) -> web.Response:
    request.app[DUTIES].note_metrics()  # qunke_leads{duty, identity}: read now, not when it last changed
    body, content_type = request.app[CORE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})
