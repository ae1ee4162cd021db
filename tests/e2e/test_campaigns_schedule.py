"""Campaigns that fire on their own, on the real clock, against a running `qunke serve`: a recurring campaign fires
each minute and never sends a customer twice in one firing; an automation reaches the customer whose purchase was
exactly N days ago and not the one of N-1 days ago; the holdout's customer gets no task and is counted as held out.

Each test enrols customers of its own (a new WeChat user adds a rep in the sandbox, then `qunke attribute import`
marks their cohort), so the one-marketing-message-a-day guard never links the tests. Only the `qunke` CLI and the
sandbox's HTTP admin API are used; the bot's packages are never imported.
"""

from __future__ import annotations

import hashlib
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import ZONE, Keys, Stack, StackPlan, http_json, run_cli
from tests.e2e.pool import StackPool, use_stack

pytestmark = pytest.mark.e2e

OWNER = "lisi"
# The mass-task result polls keep their shipped pace (60 s); however fast they come, they take only their share
# (sender.mass_poll_share) of the sender, so the large run's task creation is never held back by them.
FAST: dict[str, Any] = {"campaigns": {"tick_s": 1, "quiet_hours": {"start": "00:00", "end": "00:00"}}}


def _build(root: Path, keys: Keys) -> Stack:
    return Stack(root, keys, **FAST).start()


SCHEDULED = StackPlan("campaign-schedule", _build)
E2E_STACKS = (SCHEDULED,)


@pytest.fixture(scope="module")
def stack(stack_pool: StackPool) -> Iterator[Stack]:
    yield from use_stack(stack_pool, SCHEDULED)


def enrol(stack: Stack, cohort: str, count: int, reps: tuple[str, ...] = (OWNER,)) -> list[str]:
    """`count` new WeChat users each add a rep in WeCom; once the bot has them, their `cohort` attribute is imported."""
    people = []
    for index in range(count):
        created = stack.act("new-customer", {"name": f"{cohort}{index}"})
        external_userid = str(created["customer"]["external_userid"])
        stack.act("add-contact", {"customer": external_userid, "member": reps[index % len(reps)]})
        people.append(external_userid)
    for external_userid in people:
        stack.customer_id(external_userid)
    csv = stack.root / f"{cohort}.csv"
    csv.write_text("customer,cohort\n" + "".join(f"{p},{cohort}\n" for p in people), encoding="utf-8")
    stack.cli("attribute", "import", str(csv))
    return people


def cohort_filter(cohort: str) -> dict[str, Any]:
    return {"attribute": {"name": "cohort", "eq": cohort}}


def create_campaign(stack: Stack, document: dict[str, Any]) -> dict[str, Any]:
    path = stack.root / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    created: dict[str, Any] = stack.cli_json("campaign", "create", "--file", str(path))
    return created


def campaign_tasks(stack: Stack, marker: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http_json("GET", f"{stack.sandbox_url}/sandbox/tasks")["tasks"]
    return [task for task in found if marker in task["text"]]


def targets(task: dict[str, Any]) -> list[str]:
    return [str(t["external_userid"]) for part in task["parts"] for t in part["targets"]]


def show(stack: Stack, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = stack.cli_json("campaign", "show", name)
    return shown


def runs_done(stack: Stack, name: str, count: int) -> dict[str, Any] | None:
    shown = show(stack, name)
    done = [r for r in shown["runs"] if r["status"] == "done"]
    return shown if len(done) >= count and len(done) == len(shown["runs"]) else None


def local_minute(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%H:%M")


def two_minutes_cron() -> str:
    """A cron of two consecutive whole minutes of one hour, the first at least 40 s away (time to create it)."""
    first = (datetime.now(ZONE) + timedelta(seconds=100)).replace(second=0, microsecond=0)
    if (first + timedelta(minutes=1)).hour != first.hour:
        first += timedelta(minutes=1)
    return f"{first.minute},{first.minute + 1} {first.hour} * * *"


def test_recurring_campaign_sends_each_customer_once_per_firing_and_records_two_runs_when_its_cron_fires_twice(
    stack: Stack,
) -> None:
    people = enrol(stack, "每分钟", 3)
    marker = "每分钟一次的上新提醒"
    document = {
        "name": "每分钟上新",
        "kind": "recurring",
        "filter": cohort_filter("每分钟"),
        "path": "mass_single",
        "message": f"{marker}，回复「退订」不再接收。",
        "cron": two_minutes_cron(),
        "guards": {"quiet_hours": False, "frequency_cap": False},
    }
    create_campaign(stack, document)
    shown = stack.wait_for(lambda: runs_done(stack, "每分钟上新", 2), 240, "both firings of the campaign, done")
    runs = shown["runs"]
    assert len({r["scheduled_for"] for r in runs}) == len(runs), runs
    assert all(r["funnel"]["audience"] == len(people) and r["funnel"]["in_tasks"] == len(people) for r in runs), runs

    def dispatched() -> list[dict[str, Any]] | None:
        found = campaign_tasks(stack, marker)
        return found if len(found) == len(runs) and all(t["dispatched"] for t in found) else None

    found = stack.wait_for(dispatched, 90, f"one task per firing ({len(runs)}), dispatched")
    for task in found:
        # One owner rep and one text: each firing is one task, naming each customer exactly once.
        assert sorted(targets(task)) == sorted(people), task
    sent = Counter(target for task in found for target in targets(task))
    assert sent == Counter({person: len(runs) for person in people}), sent
    assert shown["funnel"]["audience"] == len(people) * len(runs), shown["funnel"]


def test_purchase_automation_reaches_the_customer_who_bought_n_days_ago_when_another_bought_a_day_later(
    stack: Stack,
) -> None:
    bought_three_days_ago, bought_two_days_ago = enrol(stack, "三天前购买", 2)
    now = datetime.now(ZONE)
    for external_userid, days, reference in ((bought_three_days_ago, 3, "E2E-P3"), (bought_two_days_ago, 2, "E2E-P2")):
        at = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
        stack.cli("purchase", "add", external_userid, reference, "99", "--item", "猫粮", "--at", at)
    marker = "猫粮快吃完了吧"
    document = {
        "name": "三天补货提醒",
        "kind": "automation",
        "filter": cohort_filter("三天前购买"),
        "trigger": {"event": "purchase", "days": 3, "item": "猫粮", "at": local_minute(now)},
        "path": "mass_single",
        "message": f"{marker}？回购享九折，回复「退订」不再接收。",
        "guards": {"quiet_hours": False},
    }
    create_campaign(stack, document)
    shown = stack.wait_for(lambda: runs_done(stack, "三天补货提醒", 1), 90, "today's firing of the automation, done")
    (task,) = stack.wait_for(
        lambda: [t for t in campaign_tasks(stack, marker) if t["dispatched"]], 90, "the automation's task"
    )
    assert targets(task) == [bought_three_days_ago], task
    assert shown["funnel"]["audience"] == 1, shown["funnel"]


def holdout_draw(campaign_id: int, customer_id: int) -> float:
    """The documented draw (docs/CAMPAIGNS.md, "a hash of campaign and customer"), recomputed from the outside."""
    digest = hashlib.sha256(f"holdout:{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def test_held_out_customer_gets_no_task_and_is_counted_as_held_out_when_the_broadcast_runs(stack: Stack) -> None:
    people = enrol(stack, "对照组", 8)
    ids = {person: stack.customer_id(person) for person in people}
    listed: list[dict[str, Any]] = stack.cli_json("campaign", "list")
    next_id = max((int(c["id"]) for c in listed), default=0) + 1
    draws = {person: holdout_draw(next_id, customer_id) for person, customer_id in ids.items()}
    held_person = min(draws, key=lambda p: draws[p])
    assert draws[held_person] < 0.5, f"no draw under the 0.5 maximum for campaign {next_id}: {draws}"
    # Just above the lowest draw: exactly that one customer is held out.
    share = min(0.5, draws[held_person] + (sorted(draws.values())[1] - draws[held_person]) / 2)
    marker = "对照组实验的新品试用"
    document = {
        "name": "新品试用对照",
        "kind": "broadcast",
        "filter": cohort_filter("对照组"),
        "path": "mass_single",
        "message": f"{marker}，回复「退订」不再接收。",
        "at": "now",
        "holdout": round(share, 12),
        "guards": {"quiet_hours": False},
    }
    created = create_campaign(stack, document)
    assert created["id"] == next_id, created
    shown = stack.wait_for(lambda: runs_done(stack, "新品试用对照", 1), 90, "the broadcast's run, done")
    (task,) = stack.wait_for(
        lambda: [t for t in campaign_tasks(stack, marker) if t["dispatched"]], 90, "the broadcast's task"
    )
    assert sorted(targets(task)) == sorted(p for p in people if p != held_person), task
    assert shown["funnel"]["held_out"] == 1 and shown["funnel"]["audience"] == len(people), shown["funnel"]
    row = next(r for r in stack.cli_json("report", "campaigns") if r["name"] == "新品试用对照")
    assert row["held_out"] == 1, row


# WeCom's side holds the crowd already (the sandbox's bulk seed, no callbacks); the bot learns it through its start-up
# import of every contact, so the bot is restarted once before the run.
LARGE_RUN = 5000
LARGE_REPS = ("lisi", "wangwu", "zhangsan")


def enrol_crowd(stack: Stack, cohort: str, count: int) -> list[str]:
    """`count` customers of LARGE_REPS seeded in WeCom, imported by a restarted bot, marked with their `cohort`."""
    seeded = stack.act("seed-customers", {"name": cohort, "count": count, "members": list(LARGE_REPS)})
    people = [str(p) for p in seeded["customers"]["external_userids"]]
    stack.bot.stop()
    stack.start_bot()
    csv = stack.root / f"{cohort}.csv"
    csv.write_text("customer,cohort\n" + "".join(f"{p},{cohort}\n" for p in people), encoding="utf-8")

    def imported() -> bool:
        # Refused as a whole while any customer is still unknown to the bot; accepted once the import has them all.
        return run_cli(["attribute", "import", str(csv)], stack.env, stack.root).returncode == 0

    # Seldom: each try is a CLI process, and the import shares the machine with it.
    stack.wait_for(imported, 600, f"the bot's start-up import of the {count} seeded customers", interval=15)
    return people


def run_funnel(stack: Stack, name: str) -> dict[str, Any]:
    runs = show(stack, name)["runs"]
    return dict(runs[0]["funnel"]) if runs else {}


def test_every_recipient_gets_exactly_one_task_when_the_bot_is_killed_in_the_middle_of_a_large_run(
    stack: Stack,
) -> None:
    people = enrol_crowd(stack, "大促", LARGE_RUN)
    marker = "双旦大促提前购"
    document = {
        "name": "双旦大促",
        "kind": "broadcast",
        "filter": cohort_filter("大促"),
        "path": "mass_single",
        # Personal text: one add_msg_template task per customer, so the run takes many calls to WeCom.
        "message": f"{{{{ name }}}}，{marker}已开启，回复「退订」不再接收。",
        "at": "now",
        "guards": {"quiet_hours": False},
    }
    create_campaign(stack, document)

    def partly_done() -> dict[str, Any] | None:
        funnel = run_funnel(stack, "双旦大促")
        return funnel if funnel.get("tasks_created", 0) >= LARGE_RUN // 10 else None

    partly = stack.wait_for(partly_done, 300, "a tenth of the run's tasks created in WeCom")
    stack.bot.stop(signal.SIGKILL)
    at_kill = len(campaign_tasks(stack, marker))
    stack.start_bot()

    def all_created() -> dict[str, Any] | None:
        shown = runs_done(stack, "双旦大促", 1)
        return shown if shown and shown["runs"][0]["funnel"]["tasks_created"] >= LARGE_RUN else None

    shown = stack.wait_for(all_created, 900, f"the run done and its {LARGE_RUN} tasks created after the restart")
    found = campaign_tasks(stack, marker)
    sent = Counter(target for task in found for target in targets(task))
    assert sent == Counter(people), ({k: v for k, v in sent.items() if v != 1}, len(sent), at_kill)
    (run,) = shown["runs"]
    assert run["funnel"]["audience"] == len(people) and run["funnel"]["in_tasks"] == len(people), run
    assert 0 < at_kill < len(people), f"the kill came after {at_kill} of {len(people)} tasks: not mid-run ({partly})"
    row = next(r for r in stack.cli_json("report", "campaigns") if r["name"] == "双旦大促")
    assert row["audience"] == len(people) and row["tasks_created"] == len(people), row
