"""The member's side of mass tasks: confirm-task, GET /sandbox/tasks, the tasks page and the auto-confirm ticker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.mass.wire import task_state_json
from sandbox.model import ActionError
from sandbox.qyapi import keys as send_keys
from sandbox.web.page import SECURITY_HEADERS
from sandbox.wire import Json

logger = logging.getLogger(__name__)

# Real seconds between auto-confirm checks; the due time itself is on the sandbox clock.
TICK_S: Final = 0.5
PAGE_FILES: Final = {"tasks.html": "text/html", "tasks.js": "application/javascript"}


def mass_tasks_json(app: web.Application) -> list[Json]:
    """Every task, newest first, after applying any auto-confirm that came due; `state` shows it as mass_tasks."""
    engine = app[send_keys.MASS]
    engine.catch_up()
    now = app[appkeys.CLOCK].epoch()
    corp = app[appkeys.CORP]
    return [task_state_json(corp, task, now, engine.dispatch_s) for task in reversed(engine.tasks())]


async def confirm_task(request: web.Request) -> web.Response:
    """{"msgid", "member"}: the member taps 发送 on their part of the task in the WeCom client."""
    app = request.app
    engine = app[send_keys.MASS]
    engine.catch_up()
    try:
        body = Body(await read_object(request))
        msgid, member = body.text("msgid"), body.text("member")
        engine.confirm(msgid, member)
    except ActionError as error:
        return error_response(error)
    task = task_state_json(app[appkeys.CORP], engine.task(msgid), app[appkeys.CLOCK].epoch(), engine.dispatch_s)
    return json_response({"ok": True, "action": "confirm-task", "task": task, "delivery_ids": []})


async def get_tasks(request: web.Request) -> web.Response:
    engine = request.app[send_keys.MASS]
    return json_response(
        {
            "now": request.app[appkeys.CLOCK].epoch(),
            "auto_confirm_s": engine.auto_confirm_s,
            "tasks": mass_tasks_json(request.app),
        }
    )


def _read_page(name: str) -> bytes:
    return (resources.files("sandbox.web") / "static" / name).read_bytes()


def _page_file(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The tasks page and its script, read per request: small, rarely loaded, and editable while running."""

    async def serve(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(_read_page, name)
        return web.Response(body=body, content_type=PAGE_FILES[name], charset="utf-8", headers=SECURITY_HEADERS)

    return serve


class AutoConfirmTicker:
    """Applies SANDBOX_TASK_AUTO_CONFIRM_S and per-rep delays while nobody polls; stopped at shutdown."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: web.Application) -> None:
        # Always on: per-rep delays can be set at any time through /sandbox/mass/reps (catch_up is cheap when idle).
        self._task = asyncio.create_task(self._run(app), name="sandbox-mass-auto-confirm")

    @staticmethod
    async def _run(app: web.Application) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                app[send_keys.MASS].catch_up()
            except Exception:
                # A bug here must not silently end auto-confirm for the rest of the run.
                logger.exception("mass task auto-confirm failed")

    async def stop(self, app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def setup_admin_mass(app: web.Application) -> None:
    ticker = AutoConfirmTicker()
    app.on_startup.append(ticker.start)
    app.on_shutdown.append(ticker.stop)
    app.router.add_post("/sandbox/act/confirm-task", confirm_task)
    app.router.add_get("/sandbox/tasks", get_tasks)
    for name in PAGE_FILES:
        app.router.add_get(f"/sandbox/{name}", _page_file(name))
