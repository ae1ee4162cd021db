"""Campaigns as a community manager and reps live them, against a running `qunke serve` on the real clock: a
broadcast to a segment becomes one mass task per owner rep, the rep confirms it in WeCom (the sandbox), the customer
gets their personal text and the funnel shows it; an opted-out customer is skipped; a due follow-up reaches the rep.

Only the `qunke` CLI and the sandbox's HTTP admin API are used; the bot's packages are never imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import ZONE, Keys, Stack, StackPlan, http_json, run_cli
from tests.e2e.pool import StackPool, use_stack

pytestmark = pytest.mark.e2e

# Every rep's customers in the demo corp carrying the VIP tag, by the rep that owns them.
VIP_CUSTOMERS = ("小鹿乱撞🦌", "阿杰", "王姐(宝妈)")
FOLLOWUP_NOTE = "回访双十二订单"

FAST = {
    "campaigns": {"tick_s": 1, "quiet_hours": {"start": "00:00", "end": "00:00"}},
    # A task is reminded 7 s after it is created (WeCom's remind_groupmsg_send; at most 3 a day).
    "sender": {"mass_poll_interval_s": 1, "mass_poll_max_interval_s": 3, "mass_remind_after_h": 0.002},
    "followups": {"tick_s": 1},
}


@dataclass
class Started:
    stack: Stack
    followup_label: str

    def stop(self) -> None:
        self.stack.stop()


def _build(root: Path, keys: Keys) -> Started:
    """Start the stack and, at once, a follow-up due at the next whole minute (checked by the last test)."""
    stack = Stack(root, keys, **FAST).start()
    try:
        jie = stack.customer_id(stack.external_userid("阿杰"))
        due = (datetime.now(ZONE) + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
        added = stack.cli_json("followup", "add", str(jie), FOLLOWUP_NOTE, "--to", "lisi", "--due", due)
    except BaseException:
        stack.stop()
        raise
    return Started(stack, str(added["label"]))


CAMPAIGNS = StackPlan("campaigns", _build)
E2E_STACKS = (CAMPAIGNS,)


@pytest.fixture(scope="module")
def started(stack_pool: StackPool) -> Iterator[Started]:
    yield from use_stack(stack_pool, CAMPAIGNS)


@pytest.fixture
def stack(started: Started) -> Stack:
    return started.stack


def write_yaml(stack: Stack, name: str, document: dict[str, Any]) -> str:
    path = stack.root / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


def create_campaign(stack: Stack, document: dict[str, Any]) -> dict[str, Any]:
    file = write_yaml(stack, f"{document['name']}.yaml", document)
    created: dict[str, Any] = stack.cli_json("campaign", "create", "--file", file)
    return created


def broadcast(name: str, segment: str, message: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "broadcast",
        "segment": segment,
        "path": "mass_single",
        "message": message,
        "at": "now",
        "guards": {"quiet_hours": False},
    }


def tasks(stack: Stack) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = http_json("GET", f"{stack.sandbox_url}/sandbox/tasks")["tasks"]
    return result


def report_row(stack: Stack, name: str) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = stack.cli_json("report", "campaigns")
    return next((row for row in rows if row["name"] == name), None)


def mass_received(stack: Stack, external_userid: str) -> list[str]:
    return [
        e["text"]
        for e in stack.log()
        if e["kind"] == "mass_message" and e.get("external_userid") == external_userid and e["chat_type"] == "single"
    ]


def owners(stack: Stack, names: tuple[str, ...]) -> dict[str, str]:
    """The owner rep of each customer, as the bot has them."""
    wanted = {stack.external_userid(name): name for name in names}
    for external_userid in wanted:
        stack.customer_id(external_userid)
    rows = [c for c in stack.customers() if c["external_userid"] in wanted]
    return {wanted[c["external_userid"]]: c["owner_userid"] for c in rows}


def test_broadcast_reaches_each_customer_through_their_owner_when_the_rep_confirms_the_mass_task(stack: Stack) -> None:
    write_yaml(stack, "vip.yaml", {"name": "VIP客户", "all": [{"tags": {"any": ["VIP"]}}]})
    stack.cli_json("segment", "create", "--file", str(stack.root / "vip.yaml"))
    owner_of = owners(stack, VIP_CUSTOMERS)
    text = "{{ name }}，双十二会员专享价已开启，回复「退订」不再接收。"
    create_campaign(stack, broadcast("VIP双十二", "VIP客户", text))

    def campaign_tasks() -> list[dict[str, Any]] | None:
        found = [t for t in tasks(stack) if "双十二会员专享价" in t["text"]]
        return found if len(found) == len(VIP_CUSTOMERS) and all(t["dispatched"] for t in found) else None

    created = stack.wait_for(campaign_tasks, 90, "one mass task per VIP customer (personal text), dispatched")
    for task in created:
        (part,) = task["parts"]
        (target,) = part["targets"]
        # Each task goes to the customer's own owner rep, with the text naming that customer.
        assert part["userid"] == owner_of[target["name"]], (task, owner_of)
        assert task["text"].startswith(target["name"]), task
        stack.act("confirm-task", {"msgid": task["msgid"], "member": part["userid"]})

    for name in VIP_CUSTOMERS:
        received = stack.wait_for(lambda n=name: mass_received(stack, stack.external_userid(n)), 30, f"{name}'s text")
        assert received == [f"{name}，双十二会员专享价已开启，回复「退订」不再接收。"], received

    row = stack.wait_for(
        lambda: (r := report_row(stack, "VIP双十二")) and r["delivered"] == len(VIP_CUSTOMERS) and r,
        120,
        "`qunke report campaigns` showing every VIP delivered",
    )
    assert row["audience"] == len(VIP_CUSTOMERS) and row["tasks_created"] == len(VIP_CUSTOMERS), row
    assert row["tasks_confirmed"] == len(VIP_CUSTOMERS) and row["skipped"] == 0, row


def test_opted_out_customer_is_skipped_with_reason_opt_out_when_the_next_campaign_runs(stack: Stack) -> None:
    liu = stack.external_userid("大刘")
    stack.customer_id(liu)
    stack.kf_say(liu, "退订")
    stack.wait_for(
        lambda: any(e["kind"] == "opted_out" for e in stack.timeline(liu)), 60, "大刘's opt-out on his timeline"
    )
    write_yaml(stack, "normal.yaml", {"name": "普通客户", "all": [{"tags": {"any": ["普通"]}}]})
    stack.cli_json("segment", "create", "--file", str(stack.root / "normal.yaml"))
    text = "亲爱的客户，本周回馈活动已开启，回复「退订」不再接收。"
    create_campaign(stack, broadcast("普通客户回馈", "普通客户", text))

    def finished() -> dict[str, Any] | None:
        shown: dict[str, Any] = stack.cli_json("campaign", "show", "普通客户回馈")
        runs = shown["runs"]
        return shown if runs and all(r["status"] == "done" for r in runs) else None

    shown = stack.wait_for(finished, 90, "the campaign's run done")
    assert shown["funnel"]["skipped"].get("opted_out") == 1, shown["funnel"]
    sent_to = {t["external_userid"] for task in tasks(stack) if "本周回馈" in task["text"] for p in task["parts"]
               for t in p["targets"]}  # fmt: skip
    assert sent_to and liu not in sent_to, sent_to


def test_due_followup_reaches_the_rep_as_a_private_message_when_its_time_comes(started: Started) -> None:
    stack = started.stack
    reminders = stack.wait_for(
        lambda: stack.app_messages("lisi", started.followup_label), 150, f"the reminder of {started.followup_label}"
    )
    assert any(FOLLOWUP_NOTE in text and "阿杰" in text for text in reminders), reminders


def test_new_contact_gets_the_welcome_for_their_channel_when_they_scan_a_reps_code(stack: Stack) -> None:
    welcome = {
        "name": "新好友欢迎",
        "kind": "automation",
        "trigger": {"event": "new_contact"},
        "path": "welcome",
        "message": "您好，我是{{ owner_name }}，有问题随时找我～",
        "state_messages": {"e2e_live": "{{ name }}您好，欢迎从直播间来！回复「福利」领取专属券。"},
    }
    create_campaign(stack, welcome)
    zhou = stack.external_userid("老周")
    stack.act("add-contact", {"customer": zhou, "member": "wangwu", "state": "e2e_live"})

    sent = stack.wait_for(
        lambda: [e for e in stack.log() if e["kind"] == "welcome_message" and e["external_userid"] == zhou],
        30,
        "老周's welcome through send_welcome_msg",
    )
    assert [e["content"] for e in sent] == ["老周您好，欢迎从直播间来！回复「福利」领取专属券。"], sent
    shown = stack.cli_json("campaign", "show", "新好友欢迎")
    assert shown["funnel"]["queued"] == 1, shown["funnel"]


def test_tag_added_with_the_cli_is_on_the_timeline_for_the_tag_added_trigger_when_wecom_accepts_it(
    stack: Stack,
) -> None:
    kevin = stack.external_userid("Kevin")
    stack.cli("customer", "tag", str(stack.customer_id(kevin)), "--add", "VIP")
    entries = stack.wait_for(
        lambda: [e for e in stack.timeline(kevin) if e["kind"] == "tag_added"], 60, "Kevin's tag_added entry"
    )
    assert "VIP" in str(entries[0]), entries


def test_unconfirmed_task_is_reminded_and_reported_when_the_rep_never_confirms(stack: Stack) -> None:
    # Realistic reps (sandbox/mass_reps.py): 张三 confirms after 3 s on his own, 赵六 never does.
    http_json("POST", f"{stack.sandbox_url}/sandbox/mass/reps", {"userid": "zhangsan", "confirm_after_s": 3})
    http_json("POST", f"{stack.sandbox_url}/sandbox/mass/reps", {"userid": "zhaoliu", "never": True})
    document = broadcast("意向客户回访", "", "新品体验名额开放中，回复「退订」不再接收。")
    del document["segment"]
    document["filter"] = {"tags": {"any": ["高意向", "观望"]}}  # Kevin (赵六's) and 🌻向日葵 (张三's)
    create_campaign(stack, document)

    created = stack.wait_for(
        lambda: len(found := [t for t in tasks(stack) if "新品体验名额" in t["text"]]) == 2 and found,
        90,
        "the two tasks of the campaign",
    )
    by_rep = {task["parts"][0]["userid"]: task for task in created}
    assert set(by_rep) == {"zhangsan", "zhaoliu"}, by_rep
    msgid = by_rep["zhaoliu"]["msgid"]
    reminded = stack.wait_for(
        lambda: [
            e for e in stack.log() if e["kind"] == "mass_task" and (e["action"], e["msgid"]) == ("reminded", msgid)
        ],
        120,
        "赵六's task reminded by the bot",
    )
    assert reminded
    row = stack.wait_for(
        lambda: (r := report_row(stack, "意向客户回访")) and r["tasks_confirmed"] == 1 and r["delivered"] == 1 and r,
        120,
        "the report: 张三's task confirmed and delivered",
    )
    assert row["tasks_unconfirmed"] == 1 and row["tasks_created"] == 2, row
    # WeCom's rule, at most 3 reminders a day: the manager's two more go out, a fourth is refused by the bot itself.
    task_id = next(int(t["id"]) for t in stack.cli_json("task", "list", "--limit", "500") if t["msgid"] == msgid)
    stack.cli("task", "remind", str(task_id))
    stack.cli("task", "remind", str(task_id))
    fourth = run_cli(["task", "remind", str(task_id)], stack.env, stack.root)
    assert fourth.returncode == 1 and "24 小时内已提醒 3 次" in fourth.stderr, (fourth.stdout, fourth.stderr)
    stack.wait_for(lambda: len(reminders_of(stack, msgid)) == 3, 60, "赵六's task reminded three times in WeCom")
    # Never resent as a second task: still exactly the two, and the bot's own reminders stopped at three.
    assert len([t for t in tasks(stack) if "新品体验名额" in t["text"]]) == 2
    shown = stack.cli_json("task", "show", str(task_id))
    assert shown["status"] == "created" and len(shown["reminders"]) == 3, shown
    assert len(reminders_of(stack, msgid)) == 3


def reminders_of(stack: Stack, msgid: str) -> list[dict[str, Any]]:
    return [e for e in stack.log() if e["kind"] == "mass_task" and (e["action"], e["msgid"]) == ("reminded", msgid)]


def test_group_broadcast_becomes_one_group_task_for_the_group_owner_when_its_customers_are_chosen(stack: Stack) -> None:
    welfare = stack.group_id("会员福利群")  # 李四's group: 阿杰, 王姐(宝妈), 奔跑的蜗牛🐌, 老周
    stack.customer_id(stack.external_userid("奔跑的蜗牛🐌"))
    document = broadcast("福利群直播通知", "", "本周五晚8点会员专场直播，记得来看～")
    del document["segment"]
    document["path"] = "mass_group"
    document["filter"] = {"group": {"in": [welfare]}}
    create_campaign(stack, document)

    (task,) = stack.wait_for(
        lambda: [t for t in tasks(stack) if "会员专场直播" in t["text"] and t["dispatched"]], 90, "the group task"
    )
    assert task["chat_type"] == "group" and task["sender"] == "lisi", task
    (part,) = task["parts"]
    assert [t["chat_id"] for t in part["targets"]] == [welfare], part
    stack.act("confirm-task", {"msgid": task["msgid"], "member": "lisi"})
    posted = stack.wait_for(
        lambda: [e for e in stack.log() if e["kind"] == "mass_message" and e["chat_id"] == welfare],
        30,
        "the post in 会员福利群",
    )
    assert posted[0]["text"] == "本周五晚8点会员专场直播，记得来看～"
    row = stack.wait_for(
        lambda: (r := report_row(stack, "福利群直播通知")) and r["tasks_confirmed"] == 1 and r, 60, "the report"
    )
    assert row["tasks_created"] == 1 and row["in_tasks"] >= 1, row
