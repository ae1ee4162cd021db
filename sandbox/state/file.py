"""The state file: read once at start, written atomically (temp file + os.replace) after changes and at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import appkeys
from sandbox.state.codec import StateDecodeError
from sandbox.state.snapshot import restore, snapshot
from sandbox.wire import Json

logger = logging.getLogger(__name__)

# Changes are written at most this often: a burst of callbacks costs one write, not one per callback.
SAVE_DEBOUNCE_S: Final = 1.0
# A save snapshots the whole corp on the loop, so its cost grows with the corp and the kf stream (0.3 s and more
# after minutes of load): the next save waits at least this many times the last one's cost, so saving takes at most
# ~1/20 of the loop and the API keeps answering at the same speed however large the state has grown.
SAVE_COST_FACTOR: Final = 20.0


class StateFileError(Exception):
    """The state file cannot be used; the message names the file and says what to do."""


def load_state(path: Path) -> Json | None:
    """None when there is no file yet (a first start seeds the demo corp); anything unreadable is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(f"cannot read the sandbox state file {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateFileError(_corrupt(path, f"not valid JSON ({error.msg} at line {error.lineno})")) from None
    if not isinstance(data, dict):
        raise StateFileError(_corrupt(path, "not a JSON object"))
    return data


def apply_state(app: web.Application, path: Path, data: Json) -> None:
    try:
        restore(app, data)
    except StateDecodeError as error:
        raise StateFileError(_corrupt(path, str(error))) from None


def _corrupt(path: Path, why: str) -> str:
    return (
        f"the sandbox state file {path} is unusable: {why}. Move it away, or start from the demo seed on purpose "
        "with `qunke sandbox reset` or `qunke sandbox serve --fresh`"
    )


def write_atomically(path: Path, text: str) -> None:
    """A crash mid-write leaves the previous file whole: the new one only replaces it once fully on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


class StateSaver:
    """Saves when a request or a log record may have changed something, debounced, and once more at shutdown."""

    def __init__(self, app: web.Application, path: Path) -> None:
        self._app = app
        self.path = path
        self._dirty = asyncio.Event()
        self._saved_log_seq = -1
        self._task: asyncio.Task[None] | None = None
        self.saves = 0
        self.last_cost_s = 0.0  # time the last save held the loop (snapshot and encoding)

    def next_delay_s(self) -> float:
        """How long until the next save may run: the debounce, or longer when the last save was costly."""
        return max(SAVE_DEBOUNCE_S, self.last_cost_s * SAVE_COST_FACTOR)

    def mark(self) -> None:
        self._dirty.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-state-saver")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.save()

    async def save(self) -> None:
        """The snapshot is taken on the loop (one consistent moment); only the disk write runs in a thread."""
        self._dirty.clear()
        self._saved_log_seq = self._app[appkeys.LOG].last_seq
        started = time.monotonic()
        text = json.dumps(snapshot(self._app), ensure_ascii=False, separators=(",", ":"))
        self.last_cost_s = time.monotonic() - started
        try:
            await asyncio.to_thread(write_atomically, self.path, text)
        except OSError as error:
            logger.error("cannot save the sandbox state to %s: %s", self.path, error.strerror or error)
            return
        self.saves += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.next_delay_s())
            # Callback attempts and auto-confirmed mass tasks change the log without a request.
            if self._dirty.is_set() or self._app[appkeys.LOG].last_seq != self._saved_log_seq:
                await self.save()


# The GETs that change something: WeCom's gettoken and the Official Account's token.
TOKEN_PATHS: Final = ("/cgi-bin/gettoken", "/cgi-bin/token")
STATE_SAVER: Final = web.AppKey("sandbox_state_saver", StateSaver)


@web.middleware
async def state_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST may change the corp, and gettoken issues a token; other GETs only read (polling the admin views
    must not cost a write a second). Changes made without a request show in the log and are caught there."""
    try:
        return await handler(request)
    finally:
        saver = request.app.get(STATE_SAVER)
        if saver is not None and (request.method != "GET" or request.path.endswith(TOKEN_PATHS)):
            saver.mark()


async def _state_ctx(app: web.Application) -> AsyncIterator[None]:
    saver = app[STATE_SAVER]
    await saver.start()
    try:
        yield
    finally:
        await saver.close()


def setup_state_file(app: web.Application, path: Path, fresh: bool) -> None:
    """Load the saved corp over the seed (unless `fresh`), then keep the file up to date.

    Runs in create_app, before the server serves anything; registered first, so its final save runs last, after
    the callback senders drained and logged their final attempts.
    """
    data = None if fresh else load_state(path)
    if data is not None:
        apply_state(app, path, data)
        logger.info("sandbox state loaded from %s", path)
    app[STATE_SAVER] = StateSaver(app, path)
    app.cleanup_ctx.insert(0, _state_ctx)
