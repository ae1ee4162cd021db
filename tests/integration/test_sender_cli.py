"""`qunke outbox` and `qunke task` as separate processes over the same database, while the sender runs."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.config import SandboxConfig
from services.clock import SystemClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_kf_reply
from tests.integration.test_cli import qunke
from tests.support.sender_stack import SANDBOX_DEFAULTS, SenderStack, sender_stack

CLOCK = SystemClock()


async def _json(stack: SenderStack, *args: str) -> Any:
    result = await qunke(*args, "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def _until(stack: SenderStack, check: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_task_nobody_confirms_is_reminded_then_cancelled_from_the_cli(database_url: str) -> None:
    manual = SandboxConfig(**{**SANDBOX_DEFAULTS, "task_auto_confirm_s": None})
    # Remind 2 s after creation when the member has not confirmed.
    async with sender_stack(database_url, manual, mass_remind_after_h=2 / 3600) as stack:
        customer = next(c["external_userid"] for c in (await stack.state())["customers"] if c["name"] == "Lemon柠檬")

        async def task(session: AsyncSession) -> int:
            content = MassContent("新品到店，欢迎试穿")
            return await queue_mass_task(
                session, CLOCK.now(), sender="zhangsan", chat_type="single", targets=[customer], content=content
            )

        task_id = await stack.queue(task)

        async def reminded() -> bool:
            return any(e["action"] == "reminded" for e in await stack.log("mass_task"))

        await _until(stack, reminded)
        listed = await _json(stack, "task", "list")
        assert [(t["id"], t["status"], len(t["reminders"])) for t in listed] == [(task_id, "created", 1)]
        assert listed[0]["targets"] == {"unsent": 1}

        remind = await qunke("task", "remind", str(task_id), env={"QUNKE_DATABASE_URL": stack.database_url})
        assert remind.returncode == 0 and "已提交" in remind.stdout
        cancel = await qunke("task", "cancel", str(task_id), env={"QUNKE_DATABASE_URL": stack.database_url})
        assert cancel.returncode == 0, cancel.stderr
        await stack.drained()
        shown = await _json(stack, "task", "show", str(task_id))
        actions = [e["action"] for e in await stack.log("mass_task")]
    assert actions == ["created", "reminded", "reminded", "cancelled"]
    assert shown["status"] == "cancelled" and shown["cancelled_at"]
    assert [(t["target_id"], t["status"]) for t in shown["target_list"]] == [(customer, "cancelled")]


async def test_a_fourth_reminder_in_a_day_is_refused_before_it_reaches_wecom(database_url: str) -> None:
    manual = SandboxConfig(**{**SANDBOX_DEFAULTS, "task_auto_confirm_s": None})
    async with sender_stack(database_url, manual) as stack:
        customer = next(c["external_userid"] for c in (await stack.state())["customers"] if c["name"] == "阿杰")

        async def task(session: AsyncSession) -> int:
            return await queue_mass_task(
                session, CLOCK.now(), sender="lisi", chat_type="single", targets=[customer], content=MassContent("回访")
            )

        task_id = await stack.queue(task)

        async def created() -> bool:
            return any(e["action"] == "created" for e in await stack.log("mass_task"))

        async def reminded_thrice() -> bool:
            return sum(e["action"] == "reminded" for e in await stack.log("mass_task")) >= 3

        await _until(stack, created)
        env = {"QUNKE_DATABASE_URL": stack.database_url}
        await asyncio.sleep(0.5)  # the answer is recorded just after WeCom logs the task
        for _ in range(3):
            assert (await qunke("task", "remind", str(task_id), env=env)).returncode == 0
        fourth = await qunke("task", "remind", str(task_id), env=env)
        await _until(stack, reminded_thrice)
        await asyncio.sleep(1.0)  # room for a fourth call, if one had been queued
        reminded = [e for e in await stack.log("mass_task") if e["action"] == "reminded"]
    assert fourth.returncode == 1 and "24 小时内已提醒 3 次" in fourth.stderr
    assert len(reminded) == 3


async def test_outbox_list_and_retry_show_and_requeue_a_failed_row(database_url: str) -> None:
    async with sender_stack(database_url) as stack:
        row_id = await stack.queue(lambda s: queue_kf_reply(s, CLOCK.now(), "wk-none", "wm-none", Text("您好")))
        await stack.drained()
        failed = await _json(stack, "outbox", "list", "--status", "failed")
        assert [(r["id"], r["kind"]) for r in failed] == [(row_id, "kf_message")]
        assert failed[0]["reason"].startswith("kf_window_closed")
        readable = await qunke("outbox", "list", env={"QUNKE_DATABASE_URL": stack.database_url, "COLUMNS": "200"})
        assert "失败" in readable.stdout and "kf_window_closed" in readable.stdout
        retried = await qunke("outbox", "retry", str(row_id), env={"QUNKE_DATABASE_URL": stack.database_url})
        assert retried.returncode == 0 and "已重新排队" in retried.stdout
        rows = await stack.drained()
        refused = await qunke("outbox", "retry", "999999", env={"QUNKE_DATABASE_URL": stack.database_url})
    # It went back to the queue and failed again, for the same reason: the customer still has not written.
    assert rows[0].status == "failed" and rows[0].reason.startswith("kf_window_closed")
    assert rows[0].updated_at > rows[0].created_at
    assert refused.returncode == 1
