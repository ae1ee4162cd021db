"""WeCom misbehaves (45009, 45033, 42001, -1, answers that never come, connections cut after the send): in the
end everything is delivered, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.wire import kf_msgid
from services.clock import SystemClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_kf_reply
from services.service.alerts import Alert, alert_member
from storage.models.outbox import OutboxKind, OutboxStatus
from storage.repos.windows import note_kf_customer_message
from tests.support.sender_stack import SenderStack, sender_stack

CLOCK = SystemClock()
MEMBERS = ("zhangsan", "lisi", "wangwu", "zhaoliu")


async def test_everything_is_delivered_once_when_wecom_answers_with_every_kind_of_fault(database_url: str) -> None:
    async with sender_stack(database_url) as stack:
        said = [await stack.act("kf-say", customer="new", text=f"咨询 {n}") for n in range(2)]
        state = await stack.state()
        reps = {c["external_userid"]: c["follows"][0]["userid"] for c in state["customers"] if c["follows"]}
        customers = list(reps)[:3]

        # Each phase injects its faults, queues its messages and waits: faults do not meet in one request.
        await _phase(stack, "/cgi-bin/message/send", ({"latency_ms": 3000}, {"drop": "after"}), _alerts(0, 4))
        await _phase(stack, "/cgi-bin/message/send", ({"errcode": 45009, "times": 2},), _alerts(4, 8))
        await _phase(stack, "/cgi-bin/message/send", ({"errcode": 42001}, {"errcode": -1, "times": 2}), _alerts(8, 12))
        await _phase(stack, "/cgi-bin/kf/send_msg", ({"drop": "after"}, {"errcode": -1}, {"errcode": 45033}), _kf(said))
        await stack.fault("/cgi-bin/externalcontact/get_groupmsg_task", errcode=-1, times=2)
        create = "/cgi-bin/externalcontact/add_msg_template"
        await _phase(stack, create, ({"drop": "after"}, {"latency_ms": 3000}), _tasks(customers, reps))
        rows = await stack.drained(timeout=60)
        log = await stack.log()
        faults = (await stack.get("/sandbox/faults"))["faults"]
        async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
            metrics = await resp.text()

    assert {r.status for r in rows} == {OutboxStatus.SENT}, Counter((r.kind, r.status, r.reason[:50]) for r in rows)
    assert not faults, f"faults never used: {faults}"
    kinds = Counter(e["kind"] for e in log)
    contents = Counter(e["content"] for e in log if e["kind"] == "app_message")
    assert len(contents) == 12 and set(contents.values()) == {1}
    assert kinds["app_message_duplicate"] == 2  # the timeout and the cut were resent and WeCom dropped the copies
    kf_rows = {kf_msgid(r.id, r.idempotency_key) for r in rows if r.kind == OutboxKind.KF_MESSAGE}
    sent = Counter(e["msgid"] for e in log if e["kind"] == "kf_send")
    assert set(sent) == kf_rows and set(sent.values()) == {1} and kinds["kf_send_repeat"] == 1
    created = [e["msgid"] for e in log if e["kind"] == "mass_task" and e["action"] == "created"]
    assert len(created) == len(customers) == len(set(created))
    assert sorted(e["external_userid"] for e in log if e["kind"] == "mass_message") == sorted(customers)
    paused = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("qunke_api_paused_total{")
    }
    # Every rate-limit answer paused its API for every sender; the calls already in flight each reported one.
    assert paused["/cgi-bin/message/send"] >= 1 and paused["/cgi-bin/kf/send_msg"] == 1


Queue = Callable[[AsyncSession], Awaitable[None]]


async def _phase(stack: SenderStack, api: str, faults: tuple[dict[str, Any], ...], queue: Queue) -> None:
    for fault in faults:
        await stack.fault(api, **{"times": 1, **fault})
    await stack.queue(queue)
    await stack.drained(timeout=30)


def _alerts(first: int, last: int) -> Queue:
    async def queue(session: AsyncSession) -> None:
        for n in range(first, last):
            await alert_member(session, CLOCK.now(), MEMBERS[n % 4], Alert(f"提醒 #{n}", "请跟进"))

    return queue


def _kf(said: list[dict[str, Any]]) -> Queue:
    async def queue(session: AsyncSession) -> None:
        for k in said:
            await note_kf_customer_message(session, k["open_kfid"], k["external_userid"], CLOCK.now())
            for n in range(5):
                await queue_kf_reply(session, CLOCK.now(), k["open_kfid"], k["external_userid"], Text(f"回复 {n}"))

    return queue


def _tasks(customers: list[str], reps: dict[str, str]) -> Queue:
    async def queue(session: AsyncSession) -> None:
        for n, customer in enumerate(customers):
            content = MassContent(f"故障演练群发 {n}")
            rep = reps[customer]
            await queue_mass_task(
                session, CLOCK.now(), sender=rep, chat_type="single", targets=[customer], content=content
            )

    return queue
