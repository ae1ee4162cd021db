"""Three `qunke serve` processes on one PostgreSQL behind one callback URL: every callback stored once, every
question answered once, every alert sent once, each duty (scheduler, kf, archive, import) led by one process and
taken over when its holder is SIGKILLed, and a process with a skewed clock stealing nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.front import RoundRobinFront
from tests.e2e.harness import QUNKE, Keys, Process, Stack, StackPlan, T, http_text, wait_for
from tests.e2e.pool import StackPool, use_stack
from tests.e2e.scenarios import UNKNOWN_QUESTION, sla_start, texts, ticket
from tests.support.postgres import Cluster, PostgresUnavailable, free_port, start_cluster

pytestmark = pytest.mark.e2e

# Each customer asks two FAQ questions (distinct entries, full confidence): one before a process dies, one after.
ASKERS = {
    "王姐(宝妈)": ("怎么退货", "发票怎么开"),
    "Lemon柠檬": ("运费多少", "会员有什么权益"),
    "静待花开": ("优惠券怎么用", "课程有效期多久"),
}


@dataclass
class Cluster3:
    cluster: Cluster
    stack: Stack
    front: RoundRobinFront
    bots: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    def start_bot(self, name: str, port: int, **env: str) -> Process:
        bot = Process(
            name,
            [*QUNKE, "serve", "--port", str(port)],
            {**self.stack.env, **env},
            self.stack.root,
            self.stack.root / f"{name}.log",
        )
        bot.start()
        self.bots.append(bot)
        self.ports[name] = port
        self.stack.wait_for(lambda: _up(port), 90, f"{name}'s /healthz to answer 200")
        return bot

    def live(self) -> list[Process]:
        return [bot for bot in self.bots if bot.popen is not None and bot.popen.poll() is None]

    def health(self, bot: Process) -> dict[str, Any]:
        try:
            status, body = http_text(f"http://127.0.0.1:{self.ports[bot.name]}/healthz", timeout=5)
        except OSError:
            return {}
        return dict(json.loads(body)) if status in (200, 503) else {}

    def leaders(self, duty: str = "scheduler") -> list[str]:
        """The live processes whose /healthz says they lead `duty`."""
        found = []
        for bot in self.live():
            duties = self.health(bot).get("leadership", {}).get("duties", {})
            if duties.get(duty, {}).get("leads"):
                found.append(bot.name)
        return found

    def pulled(self, result: str) -> float:
        """kf items read by the live processes' pullers, `new` or `seen` (already stored: read twice)."""
        pattern = re.compile(rf'^qunke_pulled_messages_total{{channel="kf",result="{result}"}} (\S+)$', re.M)
        total = 0.0
        for bot in self.live():
            _, body = http_text(f"http://127.0.0.1:{self.ports[bot.name]}/metrics", timeout=5)
            total += sum(float(v) for v in pattern.findall(body))
        return total

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()
        self.stack.stop()
        self.front.stop()
        self.cluster.stop()


def _up(port: int) -> bool:
    try:
        return http_text(f"http://127.0.0.1:{port}/healthz", timeout=5)[0] == 200
    except OSError:
        return False


def _build(root: Path, keys: Keys) -> Cluster3:
    cluster = start_cluster()
    try:
        name = f"e2e3_{uuid.uuid4().hex[:10]}"
        cluster.psql(f"CREATE DATABASE {name}")
        stack = Stack(root, keys, database_url=cluster.url(name))
        ports = [stack.bot_port, free_port(), free_port()]
        front = RoundRobinFront(ports).start()
        # WeCom (the sandbox) knows one callback URL: the front's.
        for key, path in (("SANDBOX_CALLBACK_URL", "/wecom/callback"), ("SANDBOX_OA_CALLBACK_URL", "/wechat/callback")):
            stack.env[key] = f"{front.url}{path}"
            stack.sandbox.env[key] = f"{front.url}{path}"
        stack.cli("db", "upgrade")
        stack.start_sandbox()
        started = Cluster3(cluster, stack, front)
        for index, port in enumerate(ports, start=1):
            started.start_bot(f"bot{index}", port)
    except BaseException:
        cluster.stop()
        raise
    try:
        sla_start(stack, "阿杰")  # the slow timer first
    except BaseException:
        started.stop()
        raise
    return started


THREE = StackPlan("three-processes", _build)
E2E_STACKS = (THREE,)


@pytest.fixture(scope="module")
def three(stack_pool: StackPool) -> Iterator[Cluster3]:
    try:
        yield from use_stack(stack_pool, THREE)
    except PostgresUnavailable as exc:
        if os.environ.get("QUNKE_REQUIRE_PG") == "1":
            pytest.fail(f"QUNKE_REQUIRE_PG=1 but PostgreSQL is unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable (set QUNKE_REQUIRE_PG=1 to make this a failure): {exc}")


def _wait(three: Cluster3, probe: Callable[[], T | None], timeout: float, what: str) -> T:
    return wait_for(probe, timeout, what, [*three.live(), three.stack.sandbox])


def test_exactly_one_process_leads_the_scheduler_when_three_share_postgres(three: Cluster3) -> None:
    leaders = _wait(three, lambda: three.leaders(), 30, "a scheduler leader")
    assert len(leaders) == 1, leaders


def test_everything_happens_once_when_the_leader_is_killed_mid_run(three: Cluster3) -> None:
    stack = three.stack
    customers = {name: stack.external_userid(name) for name in ASKERS}
    for name, (first, _) in ASKERS.items():
        stack.kf_say(customers[name], first)
    # A group question comes through the chat archive, which every process pulls: one suggestion to the owner.
    sunflower = stack.external_userid("🌻向日葵")
    stack.group_say(sunflower, stack.group_id("2026秋季训练营1群"), "请问发票怎么开呀")
    _wait(three, lambda: all(stack.kf_sent(c) for c in customers.values()), 90, "an answer to each first question")

    (leader,) = _wait(three, lambda: three.leaders(), 30, "a scheduler leader")
    killed = next(bot for bot in three.bots if bot.name == leader)
    killed.popen.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    killed.popen.wait(30)  # type: ignore[union-attr]
    for name, (_, second) in ASKERS.items():
        stack.kf_say(customers[name], second)
    replacement_port = free_port()
    three.front.replace(three.ports[leader], replacement_port)
    three.start_bot("bot4", replacement_port)

    new_leaders = _wait(three, lambda: three.leaders(), 30, "a new scheduler leader after the SIGKILL")
    assert len(new_leaders) == 1 and new_leaders != [leader], new_leaders

    for name, customer in customers.items():
        replies = _wait(
            three, lambda c=customer: len(sent := texts(stack.kf_sent(c))) >= 2 and sent, 120, f"two answers to {name}"
        )
        said = Counter(e["text"] for e in stack.timeline(customer) if e["kind"] == "message")
        assert all(said[q] == 1 for q in ASKERS[name]), (name, said)
        assert len(replies) == 2 and len(set(replies)) == 2, (name, replies)

    _wait(
        three,
        lambda: [t for t in stack.app_messages("zhangsan", "向日葵") if "建议回复" in t],
        120,
        "the suggested reply to 张三 for the group question",
    )
    # The SLA of 阿杰's question (asked at start-up): one warning, one escalation, one overdue ticket.
    _wait(three, lambda: ticket(stack, "阿杰", "overdue"), 240, "the overdue ticket for 阿杰")
    warnings = [t for t in stack.app_messages("lisi", "阿杰") if UNKNOWN_QUESTION in t and "超时" not in t]
    escalations = [t for t in stack.app_messages("zhaoliu", "阿杰") if "超时" in t]
    overdue = [row for row in stack.tickets("阿杰") if row["source"] == "overdue"]
    assert len(warnings) == 1 and len(escalations) == 1 and len(overdue) == 1, (warnings, escalations, overdue)
    # Every answer once, even after the kill: nothing left to send that could still double.
    final = {name: texts(stack.kf_sent(customer)) for name, customer in customers.items()}
    assert all(len(sent) == 2 for sent in final.values()), final
    suggestions = [t for t in stack.app_messages("zhangsan", "向日葵") if "建议回复" in t]
    assert len(suggestions) == 1, suggestions
    assert set(three.front.served) >= {three.ports["bot2"], three.ports["bot3"]}


def _health_status(three: Cluster3, bot: Process) -> int:
    try:
        return http_text(f"http://127.0.0.1:{three.ports[bot.name]}/healthz", timeout=5)[0]
    except OSError:
        return 0


def test_nothing_is_lost_or_doubled_and_the_lead_returns_when_postgres_restarts_under_three_processes(
    three: Cluster3,
) -> None:
    stack = three.stack
    kevin = stack.external_userid("Kevin")
    three.cluster.pause()
    try:
        _wait(
            three,
            lambda: all(_health_status(three, bot) == 503 for bot in three.live()),
            60,
            "every process's /healthz to say 503 while PostgreSQL is down",
        )
        stack.kf_say(kevin, "怎么退货")  # WeCom gets 5xx and retries; the bot pulls the message later anyway
    finally:
        three.cluster.resume()
    _wait(
        three,
        lambda: all(_health_status(three, bot) == 200 for bot in three.live()),
        90,
        "every process healthy again",
    )
    leaders = _wait(three, lambda: three.leaders(), 60, "a scheduler leader after PostgreSQL came back")
    assert len(leaders) == 1, leaders
    stack.kf_say(kevin, "运费多少")
    replies = _wait(three, lambda: len(sent := texts(stack.kf_sent(kevin))) >= 2 and sent, 120, "both answers to Kevin")
    said = Counter(e["text"] for e in stack.timeline(kevin) if e["kind"] == "message")
    assert said["怎么退货"] == 1 and said["运费多少"] == 1, said
    assert len(replies) == 2 and len(set(replies)) == 2, replies


DUTIES = ("scheduler", "kf", "archive", "import")


def _one_leader_each(three: Cluster3) -> dict[str, str] | None:
    """{duty: leading process} once each duty has exactly one leader that every live process names."""
    found: dict[str, str] = {}
    reports = {bot.name: three.health(bot).get("leadership", {}) for bot in three.live()}
    for duty in DUTIES:
        leading = [name for name, r in reports.items() if r.get("duties", {}).get(duty, {}).get("leads")]
        if len(leading) != 1:
            return None
        identity = reports[leading[0]]["identity"]
        if any(r.get("duties", {}).get(duty, {}).get("leader") != identity for r in reports.values()):
            return None
        found[duty] = leading[0]
    return found


def test_each_duty_has_one_leader_that_every_follower_names_when_three_share_postgres(three: Cluster3) -> None:
    leading = _wait(three, lambda: _one_leader_each(three), 60, "one leader per duty, named by every process")
    assert set(leading) == set(DUTIES)
    metrics = http_text(f"http://127.0.0.1:{three.ports[leading['kf']]}/metrics")[1]
    assert re.search(r'^qunke_leads\{duty="kf",identity="[^"]+"\} 1\.0$', metrics, re.M), metrics[-2000:]


def test_kf_questions_are_answered_once_and_pulled_once_when_the_kf_puller_leader_is_killed(three: Cluster3) -> None:
    stack = three.stack
    questions = (("怎么退货", "运费多少"), ("优惠券怎么用", "发票怎么开"), ("会员有什么权益", "课程有效期多久"))
    customers = [stack.act("kf-say", {"customer": "new", "text": first})["external_userid"] for first, _ in questions]
    _wait(three, lambda: all(texts(stack.kf_sent(c)) for c in customers), 120, "an answer to each first question")
    (leader,) = _wait(three, lambda: three.leaders("kf") or None, 30, "a kf puller leader")
    seen_before = three.pulled("seen") - _pulled_on(three, leader, "seen")

    killed = next(bot for bot in three.live() if bot.name == leader)
    killed.popen.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    killed.popen.wait(30)  # type: ignore[union-attr]
    for customer, (_, second) in zip(customers, questions, strict=True):
        stack.kf_say(customer, second)  # their callbacks reach the two survivors only
    moved = _wait(three, lambda: three.leaders("kf") or None, 30, "the kf lead taken over after the SIGKILL")
    assert len(moved) == 1 and moved[0] != leader, moved
    replacement_port = free_port()
    three.front.replace(three.ports[leader], replacement_port)
    three.start_bot(f"{leader}-after-kf", replacement_port)

    for customer, asked in zip(customers, questions, strict=True):
        replies = _wait(
            three, lambda c=customer: len(sent := texts(stack.kf_sent(c))) >= 2 and sent, 120, f"answers to {customer}"
        )
        said = Counter(e["text"] for e in stack.timeline(customer) if e["kind"] == "message")
        assert all(said[q] == 1 for q in asked), (customer, said)
        assert len(replies) == 2 and len(set(replies)) == 2, (customer, replies)
    assert three.pulled("seen") == seen_before, "a kf item was read twice"
    _wait(three, lambda: _one_leader_each(three), 60, "one leader per duty after the replacement started")


def _pulled_on(three: Cluster3, name: str, result: str) -> float:
    bot = next(b for b in three.live() if b.name == name)
    pattern = re.compile(rf'^qunke_pulled_messages_total{{channel="kf",result="{result}"}} (\S+)$', re.M)
    body = http_text(f"http://127.0.0.1:{three.ports[bot.name]}/metrics", timeout=5)[1]
    return sum(float(v) for v in pattern.findall(body))


def test_a_process_with_a_skewed_clock_takes_no_duty_while_the_holders_live(three: Cluster3) -> None:
    before = _wait(three, lambda: _one_leader_each(three), 60, "one leader per duty before the skewed process")
    skewed = three.start_bot("skewed", free_port(), QUNKE_TEST_CLOCK_OFFSET_S="3600")
    # It has looked (it names every holder), and several of its 2 s retry rounds later it still holds nothing.
    _wait(three, lambda: _one_leader_each(three), 60, "the skewed process naming every leader")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert _one_leader_each(three) in (before, None), "a duty moved while its holder lived"
        assert not any(
            three.health(skewed).get("leadership", {}).get("duties", {}).get(d, {}).get("leads") for d in DUTIES
        )
        time.sleep(1)
    assert _one_leader_each(three) == before
