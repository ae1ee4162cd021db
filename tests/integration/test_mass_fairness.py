"""Mass-task result polls against campaign task creation in one sender: each kind gets its share of a batch.

Polls (get_groupmsg_task, NORMAL priority) of unconfirmed tasks come due again every few seconds; campaign tasks
(add_msg_template, LOW) wait behind them in priority order. With more polls due than a claim takes, a claim must
still leave room for the tasks, or a large run stops creating tasks while its earlier tasks are polled.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox.config import SandboxConfig
from services.clock import SystemClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent
from services.service.alerts import Alert, alert_member
from storage.models.masstasks import MassTask
from storage.models.outbox import OutboxKind, OutboxStatus
from tests.support.sender_stack import SANDBOX_DEFAULTS, SenderStack, sender_stack

CLOCK = SystemClock()
TASKS = 80
# Reps never confirm (their tasks stay polled); the global rate is low so polls alone could fill it.
NEVER_CONFIRM = SandboxConfig(**{**SANDBOX_DEFAULTS, "task_auto_confirm_s": None})
SLOW_SENDER = {"global_per_second": 20, "batch_size": 20, "mass_poll_interval_s": 0.2, "mass_poll_max_interval_s": 0.5}


async def _customers_of(stack: SenderStack, rep: str) -> list[str]:
    found = []
    for customer in (await stack.state())["customers"]:
        follows = customer.get("follow_user") or customer.get("follows") or []
        if any((f["userid"] if isinstance(f, dict) else f) == rep for f in follows):
            found.append(str(customer["external_userid"]))
    return found


async def _queue_tasks(stack: SenderStack, customers: list[str], count: int, label: str) -> None:
    async def work(session: AsyncSession) -> None:
        for index in range(count):
            content = MassContent(f"{label} 第{index}条：会员日满减")
            target = customers[index % len(customers)]
            await queue_mass_task(
                session, CLOCK.now(), sender="zhangsan", chat_type="single", targets=[target], content=content
            )

    await stack.queue(work)


async def _created(stack: SenderStack) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(select(func.count()).where(MassTask.msgid.is_not(None)))).scalar_one())


async def _wait_created(stack: SenderStack, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    created = await _created(stack)
    while created < count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        created = await _created(stack)
    return created


async def test_campaign_tasks_are_all_created_when_polls_of_unconfirmed_tasks_exceed_the_global_rate(
    database_url: str,
) -> None:
    async with sender_stack(database_url, NEVER_CONFIRM, **SLOW_SENDER) as stack:
        customers = await _customers_of(stack, "zhangsan")
        await _queue_tasks(stack, customers, TASKS, "早鸟")
        # 80 tasks polled every 0.5 s want 160 calls a second, eight times the global rate of 20.
        created = await _wait_created(stack, TASKS, 60)
        polls = [r for r in await stack.outbox() if r.kind == OutboxKind.MASS_POLL and r.status == OutboxStatus.SENT]
    assert created == TASKS, f"{created} of {TASKS} tasks created while {len(polls)} polls went out"
    assert polls, "the created tasks were polled as well"


async def test_an_alert_goes_first_when_polls_and_campaign_tasks_fill_the_sender(database_url: str) -> None:
    async with sender_stack(database_url, NEVER_CONFIRM, **SLOW_SENDER) as stack:
        customers = await _customers_of(stack, "zhangsan")
        await _queue_tasks(stack, customers, TASKS, "晚鸟")
        await _wait_created(stack, TASKS // 2, 60)
        queued_at = time.monotonic()
        alert = Alert("客户等待回复", "阿杰 5 分钟未得到回复")
        await stack.queue(lambda s: alert_member(s, CLOCK.now(), "lisi", alert))
        deadline, sent = time.monotonic() + 30, False
        while not sent and time.monotonic() < deadline:
            sent = any(e.get("userid") == "lisi" for e in await stack.log("app_message"))
            await asyncio.sleep(0.1)
    assert sent, f"the alert did not reach lisi within {time.monotonic() - queued_at:.0f} s of polls and tasks"
