"""The per-corp API limits in front of every /cgi-bin/ call, and GET /sandbox/limits to watch every counter."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import appkeys
from sandbox.delivery.send_records import ApiLimited
from sandbox.faults import API_PREFIX
from sandbox.http_json import json_response
from sandbox.messages.quota import MEMBER_PER_HOUR, MEMBER_PER_MIN
from sandbox.qyapi import keys as send_keys
from sandbox.qyapi.reply import QyapiError, api_error


@web.middleware
async def limits_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost ring: a call refused here never reaches faults, the token check or the API itself."""
    # Paths no route serves are left to the 404, so typos do not fill the counters.
    if not request.path.startswith(API_PREFIX) or request.match_info.http_exception is not None:
        return await handler(request)
    api = request.path
    limiter = request.app[send_keys.LIMITER]
    refusal = limiter.enter(api, request.app[appkeys.CLOCK].epoch())
    if refusal is not None:
        request.app[appkeys.LOG].append(ApiLimited(api, refusal.errcode, refusal.reason))
        return api_error(request, QyapiError(refusal.errcode))
    try:
        return await handler(request)
    finally:
        limiter.leave(api)


async def get_limits(request: web.Request) -> web.Response:
    """Current usage against every limit, and the peaks ever reached, so tests can assert "never exceeded"."""
    app = request.app
    config = app[appkeys.CONFIG]
    now = app[appkeys.CLOCK].epoch()
    limiter = app[send_keys.LIMITER]
    quota = app[send_keys.QUOTA].snapshot(now)
    return json_response(
        {
            "now": now,
            "limits": {
                "api_per_minute": limiter.per_min,
                "api_per_hour": limiter.per_hour,
                "read_concurrency": limiter.read_concurrency,
                "member_per_minute": MEMBER_PER_MIN,
                "member_per_hour": MEMBER_PER_HOUR,
                "app_daily_cap": app[send_keys.QUOTA].daily_cap,
                "mass_cap": config.mass_cap if config.mass_cap is not None else "days_in_month",
            },
            "apis": limiter.snapshot(now),
            "members": quota["members"],
            "app": quota["app"],
            "mass": app[send_keys.MASS].cap.snapshot(now),
        }
    )
