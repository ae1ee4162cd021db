"""How each rep treats the mass tasks WeCom hands them: confirms after their own delay, or never confirms.

Real reps confirm an add_msg_template task minutes or hours later, and some never do; the bot must remind them and
report the task as unconfirmed, never resend it. Set per rep with SANDBOX_REP_CONFIRM ("lisi=30,wangwu=never") or
at run time through the admin API:

    GET  /sandbox/mass/reps                                    -> {"reps": {"lisi": 30, "wangwu": null}, ...}
    POST /sandbox/mass/reps {"userid": "lisi", "confirm_after_s": 30}
    POST /sandbox/mass/reps {"userid": "wangwu", "never": true}
    POST /sandbox/mass/reps {"userid": "lisi", "reset": true}  # back to SANDBOX_TASK_AUTO_CONFIRM_S (or by hand)

A rep with no entry follows SANDBOX_TASK_AUTO_CONFIRM_S; a confirm through /sandbox/act/confirm-task always works.
"""

from __future__ import annotations

import os
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.config import SandboxConfigError
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.model import ActionError
from sandbox.qyapi import keys as send_keys

ENV: Final = "SANDBOX_REP_CONFIRM"
NEVER: Final = "never"


def parse_rep_confirm(raw: str) -> dict[str, float | None]:
    """ "lisi=30,wangwu=never" -> {"lisi": 30.0, "wangwu": None}; a clear error naming the bad entry otherwise."""
    delays: dict[str, float | None] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        userid, sep, value = entry.partition("=")
        if not sep or not userid.strip():
            raise SandboxConfigError(f"{ENV}: expected userid=seconds or userid=never, got {entry!r}")
        delays[userid.strip()] = _delay(value.strip(), entry)
    return delays


def _delay(value: str, entry: str) -> float | None:
    if value == NEVER:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise SandboxConfigError(f"{ENV}: {entry!r}: expected seconds >= 0 or never") from None
    if seconds < 0:
        raise SandboxConfigError(f"{ENV}: {entry!r}: expected seconds >= 0 or never")
    return seconds


def _reps_json(app: web.Application) -> dict[str, object]:
    engine = app[send_keys.MASS]
    return {"reps": dict(engine.rep_delays), "default_confirm_after_s": engine.auto_confirm_s}


async def get_reps(request: web.Request) -> web.Response:
    return json_response(_reps_json(request.app))


async def post_reps(request: web.Request) -> web.Response:
    app = request.app
    try:
        body = Body(await read_object(request))
        userid = body.text("userid")
        app[appkeys.CORP].member(userid)  # 404 for someone who is not a rep of the corp
        delays = app[send_keys.MASS].rep_delays
        if body.flag("reset"):
            delays.pop(userid, None)
        elif body.flag("never"):
            delays[userid] = None
        else:
            seconds = body.number("confirm_after_s")
            if seconds is None or seconds < 0:
                raise ActionError(
                    400, "bad_delay", "confirm_after_s 应为非负数", "confirm_after_s must be a number >= 0, or never"
                )
            delays[userid] = seconds
    except ActionError as error:
        return error_response(error)
    return json_response({"ok": True, **_reps_json(app)})


def rep_confirm_from_env() -> dict[str, float | None]:
    return parse_rep_confirm(os.environ.get(ENV, ""))


def setup_mass_reps(app: web.Application) -> None:
    """Routes, and the reps from SANDBOX_REP_CONFIRM (`qunke sandbox serve` refuses a bad value in one line)."""
    app[send_keys.MASS].rep_delays.update(rep_confirm_from_env())
    app.router.add_get("/sandbox/mass/reps", get_reps)
    app.router.add_post("/sandbox/mass/reps", post_reps)
