"""The FAQ in the running bot, over real HTTP against the sandbox: kf, groups, OA, hand-off and the CLI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels.wecom.client import WeComClient
from bot.config.faq import FaqSettings
from bot.config.service import ServiceSettings
from services.faq.kb import parse_yaml
from storage.models.faq import FaqReply
from storage.models.messages import Message
from tests.integration.test_cli import qunke
from tests.support.stack import DEMO, Stack, running_stack

REPO = Path(__file__).resolve().parents[2]
ANSWERS = {item.id: item.answer for item in parse_yaml((REPO / "kb/example.yaml").read_text(encoding="utf-8"))}
T = TypeVar("T")


@pytest.fixture
async def faq_stack(database_url: str) -> AsyncIterator[Stack]:
    """The demo stack with wangwu on duty and the start-up group sync on (group owners get suggestions)."""
    update = {"service": ServiceSettings(on_duty=("wangwu",))}
    async with running_stack(database_url, settings_update=update, sync_groups_on_start=True) as stack:
        yield stack


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached within {timeout} s")


def logged(stack: Stack, kind: str, contains: str = "", **fields: Any) -> Callable[[], Awaitable[list[Any]]]:
    async def check() -> list[Any]:
        return [
            e
            for e in await stack.sandbox_log()
            if e["kind"] == kind
            and contains in json.dumps(e, ensure_ascii=False)
            and all(e.get(k) == v for k, v in fields.items())
        ]

    return check


async def decided(stack: Stack, text: str) -> FaqReply | None:
    """The FAQ's record for the (latest) stored message with this text, once the bot has handled it."""
    async with stack.sessions() as session:
        message = (
            await session.execute(select(Message).where(Message.text == text).order_by(Message.id.desc()).limit(1))
        ).scalar_one_or_none()
        if message is None:
            return None
        return (await session.execute(select(FaqReply).where(FaqReply.message_id == message.id))).scalar_one_or_none()


async def test_a_kf_customer_gets_the_answer_and_then_a_person_when_asking_for_one(faq_stack: Stack) -> None:
    said = await faq_stack.act("kf-say", customer="new", text="退货流程是什么")
    kfid, customer = said["open_kfid"], said["external_userid"]
    [answer] = await eventually(logged(faq_stack, "kf_send", ANSWERS["return_policy"], touser=customer))
    assert answer["content"].endswith("如需人工服务，请回复“人工”")

    await faq_stack.act("kf-say", customer=customer, text="转人工")
    [alert] = await eventually(logged(faq_stack, "app_message", "客户转人工"))
    assert alert["touser"] == "wangwu" if "touser" in alert else "wangwu" in json.dumps(alert, ensure_ascii=False)
    assert "退货流程是什么" in json.dumps(alert, ensure_ascii=False)  # the conversation so far
    await eventually(logged(faq_stack, "kf_send", "正在为您转接人工客服", touser=customer))
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, faq_stack.sandbox_url, DEMO.corp_id, DEMO.secret, 5)
        state = await client.post("/cgi-bin/kf/service_state/get", {"open_kfid": kfid, "external_userid": customer})
    assert (state["service_state"], state["servicer_userid"]) == (3, "wangwu")


async def test_chitchat_gets_nothing_sent_when_a_kf_customer_says_thanks_with_menus_off(database_url: str) -> None:
    update = {"faq": FaqSettings(menus=False)}  # with menus on, the first one gets the greeting (test_faq_menus.py)
    async with running_stack(database_url, settings_update=update) as stack:
        await _nothing_sent_for_chitchat(stack)


async def _nothing_sent_for_chitchat(faq_stack: Stack) -> None:
    said = await faq_stack.act("kf-say", customer="new", text="谢谢")
    await faq_stack.act("kf-say", customer=said["external_userid"], text="好的👌")

    async def stored() -> bool:
        async with faq_stack.sessions() as session:
            rows = (await session.execute(select(Message).where(Message.channel == "kf"))).all()
            return len(rows) == 2

    await eventually(stored)
    await faq_stack.settle()
    await asyncio.sleep(0.5)  # one more sender poll: nothing is queued, so nothing may appear
    assert not await logged(faq_stack, "kf_send")() and not await logged(faq_stack, "app_message")()


async def _group_and_customer(stack: Stack, index: int = 0) -> tuple[dict[str, Any], str]:
    state = await stack.sandbox_state()
    group = state["groups"][index]
    customer = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
    await stack.wait_for_groups(len(state["groups"]))
    return group, customer


async def test_the_group_owner_gets_a_suggested_reply_when_a_customer_asks_in_the_group(faq_stack: Stack) -> None:
    group, customer = await _group_and_customer(faq_stack)
    await faq_stack.act("say", **{"as": customer, "in": group["chat_id"]}, text="直播课有回放吗")
    [suggestion] = await eventually(logged(faq_stack, "app_message", ANSWERS["class_replay"]))
    text = json.dumps(suggestion, ensure_ascii=False)
    assert group["owner"] in text and "FAQ 建议回复" in text and "直播课有回放吗" in text


async def test_no_suggestion_is_sent_when_a_member_answered_first(faq_stack: Stack) -> None:
    group, customer = await _group_and_customer(faq_stack)
    # Hold the archive pulls so the question and the rep's answer arrive in one page, as they do after 15 s.
    await faq_stack.http.post(f"{faq_stack.sandbox_url}/sandbox/archive/fault", json={"times": 10_000})
    await faq_stack.act("say", **{"as": customer, "in": group["chat_id"]}, text="回放在哪看")
    await faq_stack.act("say", member=group["owner"], **{"in": group["chat_id"]}, text="在我的课程里就能看回放哦")
    await faq_stack.http.post(f"{faq_stack.sandbox_url}/sandbox/archive/fault", json={"times": 0})
    reply = await eventually(lambda: decided(faq_stack, "回放在哪看"), timeout=30)
    assert (reply.decision, reply.entry_id) == ("silent", "class_replay")
    assert not await logged(faq_stack, "app_message", ANSWERS["class_replay"])()


async def test_a_mass_task_goes_to_the_owner_when_a_manager_switched_the_group_to_task_mode(faq_stack: Stack) -> None:
    group, customer = await _group_and_customer(faq_stack, 1)
    env = {"QUNKE_DATABASE_URL": faq_stack.database_url}
    switched = await qunke("group", "faq-mode", group["chat_id"], "group_send_task", env=env)
    assert switched.returncode == 0, switched.stderr
    assert "group_send_task" in switched.stdout
    await faq_stack.act("say", **{"as": customer, "in": group["chat_id"]}, text="怎么开发票")

    async def tasks() -> list[Any]:
        async with faq_stack.http.get(f"{faq_stack.sandbox_url}/sandbox/tasks") as resp:
            found: list[Any] = (await resp.json())["tasks"]
        return [t for t in found if ANSWERS["invoice"] in json.dumps(t, ensure_ascii=False)]

    [task] = await eventually(tasks)
    text = json.dumps(task, ensure_ascii=False)
    assert group["owner"] in text and group["chat_id"] in text
    await eventually(logged(faq_stack, "app_message", "FAQ 群发待确认"))
    refused = await qunke("group", "faq-mode", "wrNOSUCHGROUP", "off", env=env)
    assert refused.returncode == 1 and "wrNOSUCHGROUP" in refused.stderr


async def test_an_oa_follower_gets_a_customer_service_message_when_asking_a_kb_question(faq_stack: Stack) -> None:
    follower = (await faq_stack.sandbox_state())["oa_followers"][0]["openid"]
    await faq_stack.act("oa-say", openid=follower, text="直播课有回放吗")
    [sent] = await eventually(logged(faq_stack, "oa_send", ANSWERS["class_replay"]))
    assert follower in json.dumps(sent, ensure_ascii=False)


async def test_promote_and_add_variant_from_the_cli_change_the_running_bots_answer(faq_stack: Stack) -> None:
    env = {"QUNKE_DATABASE_URL": faq_stack.database_url}
    first = await faq_stack.act("kf-say", customer="new", text="宠物可以带进店吗")
    await eventually(lambda: decided(faq_stack, "宠物可以带进店吗"))
    listed = await qunke("faq", "unanswered", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [group] = [g for g in json.loads(listed.stdout) if g["label"] == "宠物可以带进店吗"]
    assert group["count"] == 1 and group["status"] == "open"

    answer = "欢迎牵绳的宠物进店，店内有饮水点。"
    promoted = await qunke("faq", "promote", str(group["id"]), "--answer", answer, "--id", "pets", env=env)
    assert promoted.returncode == 0, promoted.stderr
    await faq_stack.act("kf-say", customer=first["external_userid"], text="宠物可以带进店吗")
    await eventually(logged(faq_stack, "kf_send", answer, touser=first["external_userid"]))

    taught = await qunke("faq", "add-variant", "pets", "狗狗能进门店吗", env=env)
    assert taught.returncode == 0, taught.stderr
    other = await faq_stack.act("kf-say", customer="new", text="狗狗能进门店吗")
    await eventually(logged(faq_stack, "kf_send", answer, touser=other["external_userid"]))
    missing = await qunke("faq", "add-variant", "nope", "问题", env=env)
    assert missing.returncode == 1 and "nope" in missing.stderr
