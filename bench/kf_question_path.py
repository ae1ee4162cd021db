"""One kf question end to end, counted: hops, modules, transactions and inbox passes from the callback to the outbox
row of the answer, in the running bot against the sandbox (the figures in docs/ARCHITECTURE.md).

- hops: function boundaries the question crosses in the bot's own code, from `receive_callback` to the function that
  adds the outbox row (`services.outbox.queue.queue_row`), read from the real call stacks of each pass; a hand-off that
  is not a call (the inbox writer's queue, the page's batch of FAQ jobs, an inbox row picked up by the ingest
  worker) counts as one hop.
- modules: the bot's own modules (bot, handlers, services, storage, campaigns) that ran code for the question.
- transactions: COMMITs issued by the webhook, the inbox writer and the ingest worker while the question went through.
- inbox passes: `inbound_events` rows the question wrote (the callback, then any job queued back into the inbox).

Usage: python bench/kf_question_path.py (SQLite; no arguments). Deterministic: no timings are reported.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.support` lives beside the installed packages

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from storage.migrate import upgrade  # noqa: E402
from storage.models.inbox import InboundEvent  # noqa: E402
from storage.models.outbox import Outbox  # noqa: E402
from tests.support.stack import Stack, running_stack  # noqa: E402

OURS: Final = ("bot", "handlers", "services", "storage", "campaigns")
PIPELINE_TASKS: Final = {"inbox-writer", "ingest-worker"}
# On PostgreSQL the ingest worker runs several claim loops, each a task of its own gathered by the named one.
PIPELINE_COROUTINES: Final = {"IngestWorker._loop"}
Fn = tuple[str, str]
CALLBACK: Final = ("bot.channels.wecom.webhook", "receive_callback")
STORE: Final = ("bot.ingest.inbox", "InboxWriter.store")
INSERT: Final = ("storage.repos.inbound", "insert_many_if_new")
QUEUE: Final = ("services.outbox.queue", "queue_row")
# The FAQ handler adds the question's job to its page's batch; the page queues the batch when it is flushed.
ADD: Final = ("services.faq.jobs", "QuestionBatch.add")
FLUSH: Final = ("services.faq.jobs", "QuestionBatch.flush")
# The passes of one question, each a real call stack from its start to where it hands the question on; between two
# legs is a hand-off that is not a call (the inbox writer's queue, the page's batch of FAQ jobs, an inbox row the
# ingest worker picks up).
LEGS: Final = [
    (CALLBACK, STORE),
    (("bot.ingest.inbox", "InboxWriter.run"), INSERT),
    (("bot.ingest.worker", "IngestWorker.run_once"), ADD),
    (FLUSH, INSERT),
    (("bot.ingest.worker", "IngestWorker.run_once"), QUEUE),
]
CAPTURE: Final = {STORE, INSERT, QUEUE, ADD, FLUSH}


class Recorder:
    def __init__(self) -> None:
        self.on = False
        self.modules: set[str] = set()
        self.commits = 0
        self.captures: list[list[Fn]] = []
        self._tasks: set[int] = set()

    def _in_pipeline(self) -> bool:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return False
        if task is None:
            return False
        coroutine = getattr(task.get_coro(), "__qualname__", "")
        return task.get_name() in PIPELINE_TASKS or coroutine in PIPELINE_COROUTINES or id(task) in self._tasks

    def profile(self, frame: FrameType, what: str, arg: Any) -> None:
        if not self.on or what != "call":
            return
        callee = _ours(frame)
        if callee is None:
            return
        if callee == CALLBACK:  # the aiohttp task serving this callback joins the pipeline
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(id(task))
        if not self._in_pipeline():
            return
        self.modules.add(callee[0])
        if callee in CAPTURE:
            stack: list[Fn] = []
            at: FrameType | None = frame
            while at is not None:
                fn = _ours(at)
                if fn is not None:
                    stack.append(fn)
                at = at.f_back
            self.captures.append(stack[::-1])

    def commit(self, conn: Any) -> None:
        if self.on and self._in_pipeline():
            self.commits += 1

    def path(self) -> list[Fn]:
        """The question's chain of calls, pass by pass, joined at its hand-offs (each counted as one hop)."""
        chain: list[Fn] = []
        for leg, (start, end) in enumerate(LEGS):
            stack = next((c for c in self.captures if end in c and start in c), None)
            if stack is None:
                raise AssertionError(f"no stack from {start} to {end}: leg {leg} of the question was not seen")
            chain.extend(stack[stack.index(start) : stack.index(end) + 1])
        return chain


def _ours(frame: FrameType) -> Fn | None:
    module = str(frame.f_globals.get("__name__", ""))
    if module.split(".", 1)[0] not in OURS:
        return None
    return module, frame.f_code.co_qualname


async def _count(stack: Stack, model: Any, **where: Any) -> int:
    async with stack.sessions() as session:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return int((await session.execute(stmt)).scalar_one())


async def _answered(stack: Stack, before: int, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await _count(stack, Outbox) > before and not await stack.inbox_busy():
            undone = [e for e in await stack.inbound() if e.status != "done"]
            if not undone:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer queued within {within_s} s")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/qunke.db"
        await asyncio.to_thread(upgrade, url)
        async with running_stack(url) as stack:
            await stack.settle()
            # A first question warms the FAQ matcher and names the kf account; the second one is measured.
            await stack.act("kf-say", customer="new", text="退货流程是什么")
            await _answered(stack, 0)
            await stack.settle()
            recorder = Recorder()
            event.listen(Engine, "commit", recorder.commit)
            outbox, inbox = await _count(stack, Outbox), await _count(stack, InboundEvent)
            sys.setprofile(recorder.profile)
            recorder.on = True
            await stack.act("kf-say", customer="new", text="退货流程是什么")
            await _answered(stack, outbox)
            recorder.on = False
            sys.setprofile(None)
            event.remove(Engine, "commit", recorder.commit)
            passes = await _count(stack, InboundEvent) - inbox
    path = recorder.path()
    path = [fn for i, fn in enumerate(path) if i == 0 or fn != path[i - 1]]
    print(f"hops (callback → outbox row): {len(path) - 1}")
    for module, function in path:
        print(f"    {module}.{function}")
    print(f"modules: {len(recorder.modules)}")
    print(f"transactions (COMMITs by the webhook, inbox writer and ingest worker): {recorder.commits}")
    print(f"inbox passes: {passes}")
    for module in sorted(recorder.modules):
        print(f"  {module}")


if __name__ == "__main__":
    asyncio.run(main())
