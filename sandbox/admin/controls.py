"""The admin API under /sandbox/: state, delivery log, chaos, clock and token controls, URL verification."""

from __future__ import annotations

from aiohttp import web

from sandbox import appkeys
from sandbox.admin.act import act
from sandbox.admin.chat_state import chat_state_json
from sandbox.admin.mass import mass_tasks_json
from sandbox.callbacks import Chaos
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.kf.wire import kf_state_json
from sandbox.model import ActionError
from sandbox.verify import verify_url
from sandbox.wire import Json, state_json


def state_body(app: web.Application) -> Json:
    """GET /sandbox/state's body, also the `state` part of the page's /sandbox/feed."""
    body = state_json(app[appkeys.CORP], app[appkeys.CONFIG].agent_id, app[appkeys.CLOCK].now())
    body["kf_accounts"] = kf_state_json(app[appkeys.KF], app[appkeys.CORP], app[appkeys.CLOCK].epoch())
    body.update(chat_state_json(app))
    body["mass_tasks"] = mass_tasks_json(app)
    return body


async def get_state(request: web.Request) -> web.Response:
    body = state_body(request.app)
    # Which bot this sandbox calls back: `qunke demo` checks it to be sure the sandbox that answers is its own.
    body["callback_url"] = request.app[appkeys.CONFIG].callback_url
    return json_response(body)


async def get_log(request: web.Request) -> web.Response:
    raw = request.query.get("since", "0")
    if not raw.isdigit():
        error = ActionError(400, "bad_since", "since 应为非负整数", "since must be a non-negative integer")
        return error_response(error)
    entries = request.app[appkeys.LOG].since(int(raw))
    last = entries[-1].seq if entries else int(raw)
    return json_response({"entries": [entry.to_json() for entry in entries], "last_seq": last})


async def get_pending(request: web.Request) -> web.Response:
    # WeCom callbacks and Official Account callbacks both count: tests settle on this.
    pending = request.app[appkeys.SENDER].pending + request.app[appkeys.OA_SENDER].pending
    return json_response({"pending": pending})


async def post_verify_url(request: web.Request) -> web.Response:
    app = request.app
    result = await verify_url(app[appkeys.CONFIG], app[appkeys.SENDER], app[appkeys.LOG])
    return json_response(result.fields())


async def post_clock_advance(request: web.Request) -> web.Response:
    try:
        seconds = Body(await read_object(request)).number("seconds")
        if seconds is None or seconds < 0:
            raise ActionError(400, "bad_seconds", "seconds 应为非负数", "seconds must be a number >= 0")
    except ActionError as error:
        return error_response(error)
    clock = request.app[appkeys.CLOCK]
    clock.advance(seconds)
    for listener in request.app.get(appkeys.CLOCK_LISTENERS, []):
        listener()
    return json_response({"now": clock.now().isoformat(), "epoch": clock.epoch()})


async def post_token_invalidate(request: web.Request) -> web.Response:
    return json_response({"invalidated": request.app[appkeys.TOKENS].invalidate()})


async def get_chaos(request: web.Request) -> web.Response:
    return json_response(request.app[appkeys.SENDER].chaos.to_json())


async def post_chaos(request: web.Request) -> web.Response:
    """Change any of duplicate_rate, late_rate, late_max_s; omitted ones keep their value."""
    sender = request.app[appkeys.SENDER]
    try:
        body = Body(await read_object(request))
        current = sender.chaos
        updated = Chaos(
            duplicate_rate=_rate(body, "duplicate_rate", current.duplicate_rate),
            late_rate=_rate(body, "late_rate", current.late_rate),
            late_max_s=_seconds(body, "late_max_s", current.late_max_s),
        )
    except ActionError as error:
        return error_response(error)
    sender.chaos = updated
    return json_response(updated.to_json())


def _rate(body: Body, name: str, current: float) -> float:
    value = body.number(name)
    if value is None:
        return current
    if not 0 <= value <= 1:
        raise ActionError(400, "bad_rate", f"{name} 应在 0 到 1 之间", f"{name} must be between 0 and 1")
    return value


def _seconds(body: Body, name: str, current: float) -> float:
    value = body.number(name)
    if value is None:
        return current
    if value < 0:
        raise ActionError(400, "bad_seconds", f"{name} 应为非负数", f"{name} must be >= 0")
    return value


def setup_admin(app: web.Application) -> None:
    router = app.router
    router.add_get("/sandbox/state", get_state)
    router.add_post("/sandbox/act/{action}", act)
    router.add_get("/sandbox/log", get_log)
    router.add_get("/sandbox/pending", get_pending)
    router.add_post("/sandbox/verify-url", post_verify_url)
    router.add_post("/sandbox/clock/advance", post_clock_advance)
    router.add_post("/sandbox/token/invalidate", post_token_invalidate)
    router.add_get("/sandbox/chaos", get_chaos)
    router.add_post("/sandbox/chaos", post_chaos)
