"""Who leads what: one advisory-lock leadership per duty (bot/leader.py), started before the parts that use them and
stopped after them, and the report /healthz and /metrics give of it (this process's identity, what it leads, whom
it follows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Final

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.leader import DUTY_KEYS, Leadership, process_identity
from bot.metrics import Metrics
from bot.runtime import CORE
from bot.tasks import BackgroundTasks

log = logging.getLogger("qunke")

REPORT_TIMEOUT_S: Final = 3.0
# Who holds each duty's key: session-level advisory locks with one bigint key are reported with objsubid 1, the
# key's high half in classid and its low half in objid (our keys fit in 32 bits, so classid is 0).
HOLDERS: Final = text(
    "SELECT l.objid::bigint AS key, a.application_name AS name FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = 0"
)


class Duties:
    """One Leadership per duty in DUTY_KEYS; on SQLite this process leads them all."""

    def __init__(self, engine: AsyncEngine, metrics: Metrics | None = None, retry_s: float | None = None) -> None:
        self._engine, self._metrics = engine, metrics
        extra = {} if retry_s is None else {"retry_s": retry_s}
        self._all = {duty: Leadership(engine, key=key, duty=duty, **extra) for duty, key in DUTY_KEYS.items()}
        self.identity = process_identity()
        self._runs: dict[str, asyncio.Task[None]] = {}

    def __getitem__(self, duty: str) -> Leadership:
        return self._all[duty]

    def __iter__(self) -> Iterator[Leadership]:
        return iter(self._all.values())

    def start(self, tasks: BackgroundTasks) -> None:
        for duty, leadership in self._all.items():
            self._runs[duty] = tasks.spawn(leadership.run(), f"{duty}-leadership")

    def stop(self, duty: str | None = None) -> None:
        """Hand one duty (or all) over: the holder's lock goes at once, so a follower takes it at its next try."""
        for name, leadership in self._all.items():
            if duty is None or name == duty:
                leadership.stop()

    def note_metrics(self) -> None:
        if self._metrics is None:
            return
        for duty, leadership in self._all.items():
            self._metrics.leads.labels(duty=duty, identity=self.identity).set(1 if leadership.is_leader else 0)

    async def report(self) -> dict[str, object]:
        """{identity, duties: {duty: {leads, leader}}}: `leader` is the holder's host:pid as PostgreSQL knows it
        (its connection's application_name), or null when nobody holds it or it cannot be read."""
        self.note_metrics()
        holders: dict[int, str] = {}
        error = ""
        if self._engine.dialect.name == "postgresql":
            try:
                holders = await asyncio.wait_for(self._holders(), REPORT_TIMEOUT_S)
            except Exception as exc:  # the report must answer even while the database does not
                error = f"{type(exc).__name__}: {exc}"[:200]
        duties: dict[str, object] = {}
        for duty, leadership in self._all.items():
            leader = self.identity if leadership.is_leader else holders.get(leadership.key)
            duties[duty] = {"leads": leadership.is_leader, "leader": leader}
        body: dict[str, object] = {"identity": self.identity, "duties": duties}
        if error:
            body["error"] = error
        return body

    async def _holders(self) -> dict[int, str]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(HOLDERS)).all()
        keys = {leadership.key for leadership in self._all.values()}
        # application_name is "qunke host:pid" (bot/runtime.py); anything else is shown as PostgreSQL has it.
        return {int(r.key): str(r.name).removeprefix("qunke ") for r in rows if int(r.key) in keys}


DUTIES: Final = web.AppKey("duties", Duties)


def setup_duties(app: web.Application) -> None:
    """Set up before the pullers, the import and the jobs, so it stops after them: a duty is handed over only once
    the part doing it has stopped (each part may hand its own over sooner with `Duties.stop(duty)`)."""

    async def duties_step(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        duties = Duties(core.engine, core.metrics)
        app[DUTIES] = duties
        duties.start(core.tasks)
        yield
        duties.stop()

    app.cleanup_ctx.append(duties_step)
