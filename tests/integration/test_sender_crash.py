"""1,000 mixed sends while the bot process is killed again and again: each lands once, no quota is ever crossed.

The bot runs as a real `qunke serve` subprocess. It dies twice at failpoints right after WeCom took a batch and
before the outcomes were recorded (once in a batch of member alerts and kf replies, once in a batch of mass
tasks), then twice more by SIGKILL at moments drawn from the seed, and finally runs until the outbox is empty.
The sandbox's delivery log and its limit counters are the judge.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.wire import kf_msgid
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from services.clock import SystemClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_kf_reply
from services.service.alerts import Alert, alert_member
from storage.db import create_db_engine, make_sessionmaker
from storage.models.masstasks import MassTask
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus
from storage.repos.windows import note_kf_customer_message
from tests.support.bot_process import BotProcess, write_config
from tests.support.postgres import free_port
from tests.support.sender_stack import LIVE, SANDBOX_DEFAULTS
from tests.support.stack import calling_back, start_site

CLOCK = SystemClock()
ALERTS_PER_MEMBER = 25  # under the 30 a minute, with room for the resends a crash may cost
KF_CUSTOMERS = 140  # x 5 replies each
KF_OVER_QUOTA = 20  # a 6th reply for 20 of them: must fail, never be sent
SINGLE_TASKS = 180
GROUP_TASKS = 20


@dataclass
class Plan:
    alerts: list[str] = field(default_factory=list)
    kf_rows: int = 0
    tasks: int = 0


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(url, json=body) as resp:
        data: dict[str, Any] = await resp.json()
        assert resp.status == 200, data
        return data


async def _queue_everything(
    http: aiohttp.ClientSession, sandbox_url: str, database_url: str, rng: random.Random
) -> Plan:
    async with http.get(f"{sandbox_url}/sandbox/state") as resp:
        state = await resp.json()
    kf_customers = [
        await _post(http, f"{sandbox_url}/sandbox/act/kf-say", {"customer": "new", "text": f"你好 {n}"})
        for n in range(KF_CUSTOMERS)
    ]
    reps = [(c["external_userid"], c["follows"][0]["userid"]) for c in state["customers"] if c["follows"]]
    groups = [(g["chat_id"], g["owner"]) for g in state["groups"]]
    plan = Plan()
    engine = create_db_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await _queue_alerts(session, [m["userid"] for m in state["members"]], plan)
            await _queue_kf(session, kf_customers, plan, rng)
            await _queue_tasks(session, reps, groups, plan)
    finally:
        await engine.dispose()
    return plan


async def _queue_alerts(session: AsyncSession, members: list[str], plan: Plan) -> None:
    for member in members:
        for n in range(ALERTS_PER_MEMBER):
            queued = await alert_member(session, CLOCK.now(), member, Alert(f"提醒 {member} #{n}", "请及时跟进"))
            assert not queued.coalesced
            plan.alerts.append(f"【提醒 {member} #{n}】\n请及时跟进")


async def _queue_kf(session: AsyncSession, customers: list[dict[str, Any]], plan: Plan, rng: random.Random) -> None:
    over = set(rng.sample(range(len(customers)), KF_OVER_QUOTA))
    for n, said in enumerate(customers):
        kfid, user = said["open_kfid"], said["external_userid"]
        await note_kf_customer_message(session, kfid, user, CLOCK.now())  # what the kf puller records
        for k in range(6 if n in over else 5):
            await queue_kf_reply(session, CLOCK.now(), kfid, user, Text(f"客服回复 {n}-{k}"))
            plan.kf_rows += 1


async def _queue_tasks(
    session: AsyncSession, reps: list[tuple[str, str]], groups: list[tuple[str, str]], plan: Plan
) -> None:
    for n in range(SINGLE_TASKS):
        customer, rep = reps[n % len(reps)]
        content = MassContent(f"会员活动第 {n} 期：到店出示本消息享九折")
        await queue_mass_task(session, CLOCK.now(), sender=rep, chat_type="single", targets=[customer], content=content)
    for n in range(GROUP_TASKS):
        chat_id, owner = groups[n % len(groups)]
        content = MassContent(f"群公告第 {n} 期：本周三晚八点直播答疑")
        await queue_mass_task(session, CLOCK.now(), sender=owner, chat_type="group", targets=[chat_id], content=content)
    plan.tasks = SINGLE_TASKS + GROUP_TASKS


async def _drained(database_url: str, bot: BotProcess, seconds: float) -> list[Outbox]:
    import asyncio
    import time

    engine = create_db_engine(database_url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            async with make_sessionmaker(engine)() as session:
                rows = list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())
                tasks = list((await session.execute(select(MassTask))).scalars())
            tracking = any(t.finished_at is None and t.status in ("pending", "created") for t in tasks)
            if not any(r.status in LIVE for r in rows) and not tracking:
                return rows
            if time.monotonic() > deadline:
                live = Counter((r.kind, r.status, r.reason[:40]) for r in rows if r.status in LIVE)
                raise AssertionError(f"not drained in {seconds} s: {live.most_common(8)}\n{bot.tail()}")
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 23])
async def test_every_send_lands_exactly_once_when_the_bot_is_killed_at_random_moments(
    database_url: str, tmp_path: Path, seed: int
) -> None:
    import asyncio

    rng = random.Random(seed)
    bot_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox_config = calling_back(SandboxConfig(**SANDBOX_DEFAULTS), f"http://127.0.0.1:{bot_port}")
    sandbox = await start_site(create_sandbox(sandbox_config), sandbox_port)
    config = write_config(
        tmp_path / "config.yaml",
        wecom={"request_timeout_s": 1.0},
        ingest={"sync_groups_on_start": False, "import_contacts_on_start": False},
        sender={
            "poll_interval_s": 0.05,
            "lease_s": 3.0,
            "backoff_base_s": 0.2,
            "backoff_max_s": 1.0,
            "mass_poll_interval_s": 0.3,
            "mass_poll_max_interval_s": 1.0,
            "global_per_second": 400,
        },
    )
    bot = BotProcess(database_url, sandbox_url, bot_port, config, tmp_path / "bot.log")
    try:
        async with aiohttp.ClientSession() as http:
            plan = await _queue_everything(http, sandbox_url, database_url, rng)
            for failpoint in ("sender.after_send.kf_message", "sender.after_send.mass_task"):
                bot.start(failpoint)
                assert await bot.exited(60) == 86, bot.tail()
            for _ in range(2):
                bot.start()
                await bot.wait_healthy()
                await asyncio.sleep(rng.uniform(0.2, 2.0))
                bot.kill()
            bot.start()
            rows = await _drained(database_url, bot, 90)
            await bot.stop()
            async with http.get(f"{sandbox_url}/sandbox/log") as resp:
                log = (await resp.json())["entries"]
            async with http.get(f"{sandbox_url}/sandbox/limits") as resp:
                limits = await resp.json()
        engine = create_db_engine(database_url)
        async with make_sessionmaker(engine)() as session:
            tasks = list((await session.execute(select(MassTask))).scalars())
        await engine.dispose()
    finally:
        bot.kill()
        await sandbox.cleanup()
    _assert_exactly_once(plan, rows, tasks, log)
    _assert_no_quota_crossed(log, limits)


def _assert_exactly_once(plan: Plan, rows: list[Outbox], tasks: list[MassTask], log: list[dict[str, Any]]) -> None:
    by_kind = Counter(e["kind"] for e in log)
    statuses = Counter((r.kind, r.status) for r in rows)
    failed = [r for r in rows if r.status == OutboxStatus.FAILED]
    assert len(failed) == KF_OVER_QUOTA and all(r.reason.startswith("kf_quota") for r in failed), statuses
    assert not [r for r in rows if r.status not in (OutboxStatus.SENT, OutboxStatus.FAILED)], statuses
    # Member alerts: every one delivered, each exactly once.
    contents = Counter(e["content"] for e in log if e["kind"] == "app_message")
    assert sorted(contents) == sorted(plan.alerts) and set(contents.values()) == {1}
    # kf replies: one delivery per outbox row that was sent, matched by the msgid derived from the row.
    sent_kf = {
        kf_msgid(r.id, r.idempotency_key) for r in rows if r.kind == OutboxKind.KF_MESSAGE and r.status == "sent"
    }
    kf_msgids = Counter(e["msgid"] for e in log if e["kind"] == "kf_send")
    assert set(kf_msgids) == sent_kf and set(kf_msgids.values()) == {1}
    assert len(sent_kf) == plan.kf_rows - KF_OVER_QUOTA
    # Mass tasks: WeCom holds exactly one task per queued task, and each target got its message once.
    created = [e["msgid"] for e in log if e["kind"] == "mass_task" and e["action"] == "created"]
    assert len(created) == plan.tasks == len(set(created)), by_kind
    assert {t.msgid for t in tasks} == set(created)
    delivered = Counter(e["msgid"] for e in log if e["kind"] == "mass_message")
    assert set(delivered) == set(created) and set(delivered.values()) == {1}
    assert all(t.status == "confirmed" for t in tasks)
    # The crashes did hit sends in flight: resends were deduplicated by WeCom, and a task was adopted, not recreated.
    assert by_kind["app_message_duplicate"] + by_kind["kf_send_repeat"] > 0, by_kind
    adopted = [r for r in rows if r.kind == OutboxKind.MASS_TASK and r.result.get("answer", {}).get("reconciled")]
    retried = [(r.id, r.attempts, r.result) for r in rows if r.kind == OutboxKind.MASS_TASK and r.attempts > 1]
    assert adopted, f"no mass task was reconciled after the crash: {retried[:5]}"


def _assert_no_quota_crossed(log: list[dict[str, Any]], limits: dict[str, Any]) -> None:
    kinds = Counter(e["kind"] for e in log)
    assert kinds["app_message_dropped"] == 0 and kinds["api_limited"] == 0 and kinds["kf_send_rejected"] == 0
    assert not [e for e in log if e["kind"] == "mass_message_skipped"]
    for api, counts in limits["apis"].items():
        assert counts["rejected_45009"] == 0 and counts.get("rejected_45033", 0) == 0, api
    for member, counts in limits["members"].items():
        assert counts["dropped"] == 0 and counts["peak_minute"] <= 30, member
