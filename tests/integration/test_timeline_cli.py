"""`qunke customer show` as a separate process against a running bot and sandbox: the bot's own replies and the reps'
on the timeline with their side, paging and --since, and a customer named by id, external_userid or OA openid."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config.service import ServiceSettings
from tests.integration.test_cli import qunke
from tests.integration.test_faq import ANSWERS, eventually, logged
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def on_duty_stack(database_url: str) -> AsyncIterator[Stack]:
    update = {"service": ServiceSettings(on_duty=("wangwu",))}
    async with running_stack(database_url, settings_update=update) as stack:
        yield stack


async def show(stack: Stack, *args: str) -> dict[str, Any]:
    result = await qunke("customer", "show", *args, "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


async def test_the_bots_kf_answer_and_the_reps_reply_are_on_the_timeline_when_shown_by_external_userid(
    on_duty_stack: Stack,
) -> None:
    stack = on_duty_stack
    said = await stack.act("kf-say", customer="new", text="退货流程是什么")
    customer = said["external_userid"]
    await eventually(logged(stack, "kf_send", ANSWERS["return_policy"], touser=customer))
    await stack.act("kf-say", customer=customer, text="转人工")
    await eventually(logged(stack, "app_message", "客户转人工"))
    await stack.act("kf-servicer-say", customer=customer, member="wangwu", text="您好，我是王五")

    async def complete() -> dict[str, Any] | None:
        shown = await show(stack, customer)
        texts = [e["text"] for e in shown["timeline"]]
        return (
            shown if any("我是王五" in t for t in texts) and any(ANSWERS["return_policy"] in t for t in texts) else None
        )

    shown = await eventually(complete)
    sides = [(e["side"], e["kind"]) for e in shown["timeline"]]
    answer = next(e for e in shown["timeline"] if ANSWERS["return_policy"] in e["text"])
    assert (answer["side"], answer["sender_kind"], answer["channel"]) == ("bot", "bot", "kf")
    assert ("customer", "message") in sides and ("system", "ticket_opened") in sides
    reply = next(e for e in shown["timeline"] if "我是王五" in e["text"])
    assert (reply["side"], reply["sender_id"]) == ("member", "wangwu")
    assert [e["at"] for e in shown["timeline"]] == sorted(e["at"] for e in shown["timeline"])
    assert shown["timeline_total"] == len(shown["timeline"]) and shown["timeline_page"] == 1
    assert set(shown["scores"]) >= {"csat", "nps", "nps_category", "churn_risk", "churn_reasons"}

    by_id = await show(stack, str(shown["id"]), "--limit", "2", "--page", "2")
    assert by_id["id"] == shown["id"] and by_id["timeline"] == shown["timeline"][-4:-2]
    assert by_id["timeline_pages"] == -(-shown["timeline_total"] // 2)
    env = {"QUNKE_DATABASE_URL": stack.database_url, "COLUMNS": "240"}
    text = await qunke("customer", "show", customer, "--limit", "2", env=env)
    assert text.returncode == 0 and f"时间线：共 {shown['timeline_total']} 条" in text.stdout
    assert "满意度 CSAT：-" in text.stdout and "--page 2" in text.stdout
    later = await show(stack, customer, "--since", "2999-01-01")
    assert later["timeline"] == [] and later["timeline_total"] == 0


async def test_a_follower_is_shown_by_openid_and_unknown_names_and_bad_dates_fail_in_one_line(stack: Stack) -> None:
    follower = (await stack.sandbox_state())["oa_followers"][0]["openid"]
    await stack.act("oa-say", openid=follower, text="退货流程是什么")

    async def answered() -> dict[str, Any] | None:
        result = await qunke("customer", "show", follower, "--json", env={"QUNKE_DATABASE_URL": stack.database_url})
        shown = json.loads(result.stdout) if result.returncode == 0 else None
        return shown if shown and any(e["side"] == "bot" for e in shown["timeline"]) else None

    shown = await eventually(answered, timeout=30)
    question, answer = [e for e in shown["timeline"] if e["kind"] == "message"]
    assert shown["oa_openid"] == follower and (question["side"], question["text"]) == ("customer", "退货流程是什么")
    assert (answer["side"], answer["channel"], answer["chat_type"]) == ("bot", "oa", "oa")
    assert ANSWERS["return_policy"] in answer["text"]
    env = {"QUNKE_DATABASE_URL": stack.database_url}
    for args in (("show", "wmNOBODY"), ("show", "424242"), ("merge", "1", "wmNOBODY"), ("unmerge", "oNOBODY")):
        result = await qunke("customer", *args, env=env)
        assert result.returncode == 1 and "找不到客户" in result.stderr, result
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    bad = await qunke("customer", "show", follower, "--since", "昨天", env=env)
    assert bad.returncode == 1 and "--since 格式不对" in bad.stderr
